"""Prometheus metrics of the collector (same registry as app.observability, so /metrics shows them in serve)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SYNC_LAG = Gauge("insightgraph_sync_lag_seconds", "How far the sync checkpoint is behind now",
                 ["source", "organization"])
SYNC_EVENTS = Counter("insightgraph_sync_events_total", "Events pulled by sync, by ingest outcome "
                      "(accepted, duplicate, rejected)", ["source", "organization", "outcome"])
SYNC_REQUESTS = Counter("insightgraph_sync_requests_total", "Requests sync sent to the source, by status",
                        ["source", "status"])
SYNC_RETRIES = Counter("insightgraph_sync_retries_total", "Requests sync retried, by reason (HTTP status or "
                       "transport error)", ["source", "reason"])
SYNC_ERRORS = Counter("insightgraph_sync_errors_total", "Polls that failed, by kind", ["source", "organization",
                                                                                        "kind"])
