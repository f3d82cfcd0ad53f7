"""The one composition root: settings -> a reachable, schema-ready Neo4j, and the ingest pipeline on it. The CLI, the
server and the tests all wire themselves here, so a new dependency is added in one place."""

from __future__ import annotations

from app.ingest.enrich import Enricher
from app.ingest.pipeline import Pipeline
from app.settings import Settings
from graph.constraints import ensure_schema
from graph.db import Database, DatabaseUnavailable
from graph.managed import ManagedNeo4j, Neo4jError


def managed(settings: Settings) -> ManagedNeo4j:
    return ManagedNeo4j(settings.home, settings.neo4j_port, settings.neo4j_heap, settings.neo4j_pagecache)


def connect(settings: Settings, query_timeout: float | None = None, retry_seconds: float | None = None) -> Database:
    """A driver for the configured Neo4j, not yet verified (a service starts, and says it is not ready, while Neo4j
    is away). `query_timeout`: the budget of one read, and `retry_seconds` how long a transaction is retried (the
    service's; the CLI and maintenance have no budget and retry for `neo4j_retry_seconds`)."""
    retry = settings.neo4j_retry_seconds if retry_seconds is None else retry_seconds
    return Database(settings.bolt_uri, settings.auth, settings.neo4j_database, retry, query_timeout)


def prepare(db: Database) -> None:
    """Verify the connection and make sure the constraints and indexes exist (idempotent)."""
    db.verify()
    ensure_schema(db)


def open_database(settings: Settings, schema: bool = True) -> Database:
    """The configured Neo4j, verified (and schema-ready unless `schema` is false); without INSIGHTGRAPH_NEO4J_URI
    the managed local one, started if needed. A context manager: `with open_database(s) as db: ...` closes it."""
    if settings.managed:
        try:
            managed(settings).start()
        except Neo4jError as exc:
            raise DatabaseUnavailable(f"the managed Neo4j could not start: {exc}") from None
    db = connect(settings)
    try:
        prepare(db) if schema else db.verify()
    except Exception:
        db.close()
        raise
    return db


def make_pipeline(settings: Settings, db: Database, organization: str | None = None,
                  enricher: Enricher | None = None) -> Pipeline:
    """The ingest pipeline every entrypoint uses: enrichment from the configured GeoIP database, the configured
    batch size, and (for API callers) the one organization the caller may write to."""
    return Pipeline(db, enricher if enricher is not None else Enricher(settings.geoip_db), settings.batch_size,
                    organization)
