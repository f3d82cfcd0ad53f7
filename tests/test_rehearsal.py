"""The write path's warm-up (app/ingest/rehearsal.py): it must leave the graph exactly as it was, yet have Neo4j
plan the statements a real ingest runs, and `serve` must run it once connected to a Neo4j of its own."""

from __future__ import annotations

import logging
import re

from app.ingest.rehearsal import WritePathWarmer, rehearsal_batches
from app.server import Services
from app.settings import Settings
from graph.db import Database
from graph.write import rehearse
from tests.vendor_api import free_port


def _totals(db) -> tuple[int, int]:
    nodes = db.read("MATCH (n) RETURN count(n) AS n")[0]["n"]
    rels = db.read("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    return nodes, rels


def _cleared(db) -> int:
    """Empty Neo4j's query caches; how many cached plans that dropped."""
    message = str(db.write("CALL db.clearQueryCaches() YIELD value RETURN value")[0]["value"])
    found = re.search(r"(\d+) quer", message)
    return int(found.group(1)) if found else 0


def test_a_rehearsal_commits_nothing_but_plans_the_write_statements(db) -> None:
    batches = rehearsal_batches()
    kinds = {ev.event_type for batch in batches for ev in batch}
    assert {"user_create", "user_lockout", "association_change", "sso_auth", "radius_auth", "ldap_bind", "login_attempt"} <= kinds
    before = _totals(db)
    _cleared(db)
    rehearse(db, batches)
    planned = _cleared(db)
    assert _totals(db) == before
    assert db.read("MATCH (o:Organization) WHERE o.id STARTS WITH 'rehearsal-' RETURN count(o) AS n") == [{"n": 0}]
    assert planned >= 25  # the duplicate check, each entity label's MERGE, identities, events, intervals


def test_serve_warms_the_write_path_once_connected(settings: Settings, db, caplog) -> None:
    caplog.set_level(logging.INFO, logger="insightgraph")
    services = Services(settings.model_copy(update={"warm_writes": True}))
    try:
        services.db  # connects, prepares the schema, and starts the warm-up
        assert services.warmer is not None and services.warmer.done.wait(300)
        assert [r.getMessage() for r in caplog.records if "write path" in r.getMessage()] == ["write path warmed"]
    finally:
        services.close()
    off = Services(settings.model_copy(update={"warm_writes": False}))
    try:
        off.db
        assert off.warmer is None
    finally:
        off.close()
    handed_in = Services(settings, db)
    handed_in.db
    assert handed_in.warmer is None  # a database handed in is the caller's: no background work on it


def test_a_warm_up_that_fails_is_only_logged(caplog) -> None:
    nowhere = Database(f"bolt://127.0.0.1:{free_port()}", None, None, 0.5)  # nothing listens there
    try:
        warmer = WritePathWarmer(nowhere)
        warmer.run()
    finally:
        nowhere.close()
    assert warmer.done.is_set()
    assert any(r.getMessage() == "write path not warmed: ServiceUnavailable" for r in caplog.records)
