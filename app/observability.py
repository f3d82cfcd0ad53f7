"""Operations: JSON logs, request ids, Prometheus metrics, and the outermost error boundary of the HTTP service.

`ObservabilityMiddleware` is the single source of X-Request-Id (an incoming sane one is honoured, else a new one;
it is put in `scope["state"]["request_id"]` for handlers and set on every response), writes one JSON log line per
request (never headers, query strings or bodies, so never an API key), counts requests for /metrics, and turns
whatever escapes the app into JSON: Neo4j unreachable -> 503 `{"message"}`, anything else -> 500
`{"message": "internal error; ...", "request_id"}` with the traceback in the log only.

While Neo4j is known to be down it answers API requests 503 at once (probing at most once a second) instead of
letting each one wait out the driver's retries; the first successful probe lets traffic through again.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from app.http_errors import INTERNAL_MESSAGE, UNAVAILABLE_MESSAGE
from graph.db import UNAVAILABLE

log = logging.getLogger("insightgraph.http")

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII: it is echoed into a header and the logs
PUBLIC_PATHS = ("/healthz", "/readyz", "/metrics")  # answer for themselves while Neo4j is down

# --- metrics ----------------------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter("insightgraph_http_requests_total", "HTTP requests by route template, method and status",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("insightgraph_http_request_duration_seconds", "HTTP request latency by route and method",
                         ["route", "method"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
INGEST_EVENTS = Counter("insightgraph_ingest_events_total",
                        "Events through the ingest pipeline by outcome (accepted, duplicate, rejected)",
                        ["source", "outcome"])
NEO4J_UNAVAILABLE = Counter("insightgraph_neo4j_unavailable_total",
                            "Requests answered 503 because Neo4j was unreachable, by the error seen", ["error"])
INTERNAL_ERRORS = Counter("insightgraph_http_internal_errors_total", "Requests answered 500 (see the log)")


def record_ingest(summary: Any, source: str) -> None:
    """Count one pipeline run's outcome (an app.ingest.Summary); callers of Pipeline.run call this."""
    INGEST_EVENTS.labels(source, "accepted").inc(summary.accepted)
    INGEST_EVENTS.labels(source, "duplicate").inc(summary.duplicates)
    INGEST_EVENTS.labels(source, "rejected").inc(len(summary.rejected))


async def metrics(request: Request) -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


# --- logs -------------------------------------------------------------------------------------------------------
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                          "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, any `extra=` fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["traceback"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        try:
            return orjson.dumps(out, default=str).decode()  # one line per request: the stdlib was ~5% of one
        except TypeError:
            return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for everything (our loggers, uvicorn's, the driver's); call once at process start."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True


# --- middleware -------------------------------------------------------------------------------------------------
def is_unavailable(exc: BaseException) -> bool:
    """Neo4j unreachable, also when wrapped (`raise ... from` or raised while handling it)."""
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 5:
        if isinstance(cur, UNAVAILABLE):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False


def _route(scope: dict) -> str:
    """The route template (bounded cardinality for metrics), not the raw path; also for requests answered before
    routing (401/403 from auth, 503 while Neo4j is down)."""
    route = scope.get("route")
    if route is None:
        partial = None
        for candidate in getattr(scope.get("app"), "routes", ()):
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate
        route = route or partial
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "<unmatched>"


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class ObservabilityMiddleware:
    """Request id, access log, metrics and the error boundary; install it outermost (first in the list)."""

    def __init__(self, app: ASGIApp, probe: Callable[[], bool] | None = None, probe_interval: float = 1.0) -> None:
        self.app = app
        self.probe = probe  # whether Neo4j answers now (fast: a connectivity check, no retries)
        self.probe_interval = probe_interval
        self._down_since: float | None = None
        self._last_probe = 0.0

    async def _still_down(self) -> bool:
        """While Neo4j is known down, skip the request unless a (rate-limited) probe finds it back."""
        if self._down_since is None or self.probe is None:
            return False
        now = time.monotonic()
        if now - self._last_probe < self.probe_interval:
            return True
        self._last_probe = now
        since = self._down_since
        if await run_in_threadpool(self.probe):
            if self._down_since is not None:  # a concurrent request's probe may have said so first
                log.info("database reachable again", extra={"down_seconds": round(now - since, 1)})
            self._down_since = None
            return False
        return True

    def _mark_down(self) -> None:
        if self._down_since is None:
            self._down_since, self._last_probe = time.monotonic(), 0.0  # the next request probes at once

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state["request_id"] = rid
        start = time.perf_counter()
        status = 0

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        async def answer(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            if status:  # the response had begun: nothing more can be said; the client sees a cut connection
                return
            await JSONResponse(body, code, headers=headers)(scope, receive, send_with_id)

        try:
            if scope["path"].rstrip("/") not in PUBLIC_PATHS and await self._still_down():
                NEO4J_UNAVAILABLE.labels("known_down").inc()
                await answer(503, {"message": UNAVAILABLE_MESSAGE, "request_id": rid}, {"Retry-After": "5"})
            else:
                await self.app(scope, receive, send_with_id)
                if status == 503 and scope["path"].rstrip("/") not in PUBLIC_PATHS:
                    self._mark_down()  # a handler answered 503 itself (e.g. the REST API): same as Neo4j away
        except Exception as exc:
            if is_unavailable(exc):
                NEO4J_UNAVAILABLE.labels(type(exc).__name__).inc()
                self._mark_down()
                log.warning("database unavailable: %s", type(exc).__name__,
                            extra={"request_id": rid, "path": scope["path"]})
                await answer(503, {"message": UNAVAILABLE_MESSAGE, "request_id": rid}, {"Retry-After": "5"})
            else:
                INTERNAL_ERRORS.inc()
                log.exception("internal error", extra={"request_id": rid, "path": scope["path"]})
                await answer(500, {"message": INTERNAL_MESSAGE, "request_id": rid})
        finally:
            elapsed = time.perf_counter() - start
            route, method = _route(scope), scope.get("method", "")
            HTTP_REQUESTS.labels(route, method, str(status or 500)).inc()
            HTTP_LATENCY.labels(route, method).observe(elapsed)
            principal = state.get("principal")
            log.info("request", extra={
                "request_id": rid, "method": method, "path": scope["path"], "route": route,
                "status": status or 500, "duration_ms": round(elapsed * 1000, 1),
                "organization": getattr(principal, "organization", None),
            })
