"""Wiring shared by every entrypoint: settings -> a reachable, schema-ready Neo4j."""

from __future__ import annotations

from app.settings import Settings
from graph.db import Database, DatabaseUnavailable
from graph.managed import ManagedNeo4j, Neo4jError
from graph.constraints import ensure_schema


def managed(settings: Settings) -> ManagedNeo4j:
    return ManagedNeo4j(settings.home, settings.neo4j_port, settings.neo4j_heap, settings.neo4j_pagecache)


def open_database(settings: Settings, schema: bool = True) -> Database:
    """The configured Neo4j; without INSIGHTGRAPH_NEO4J_URI the managed local one, started if needed."""
    if settings.managed:
        try:
            managed(settings).start()
        except Neo4jError as exc:
            raise DatabaseUnavailable(f"the managed Neo4j could not start: {exc}") from None
    db = Database(settings.bolt_uri, settings.auth, settings.neo4j_database, settings.neo4j_retry_seconds)
    try:
        db.verify()
        if schema:
            ensure_schema(db)
    except Exception:
        db.close()
        raise
    return db
