"""The write path's warm-up (app/ingest/rehearsal.py): it must leave the graph exactly as it was, yet have Neo4j
plan the statements a real ingest runs, and `serve` must run it once connected to a Neo4j of its own."""

from __future__ import annotations

import logging
import re

from app.ingest.rehearsal import WritePathWarmer, rehearsal_batches
from app.server import Services
from app.settings import Settings
from graph.db import Database
from graph.write import _write, rehearse
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


class _Recording:
    """A transaction that notes each statement text it runs."""

    def __init__(self, tx, seen: set[str]) -> None:
        self.tx, self.seen = tx, seen

    def run(self, query: str, **params):
        self.seen.add(query)
        return self.tx.run(query, **params)


def _plans_beyond_texts(db, batches) -> int:
    """Plans Neo4j cached for writing these batches (each rolled back) minus the distinct statement texts run."""
    seen: set[str] = set()
    _cleared(db)
    for events in batches:
        db.rolled_back_tx(lambda tx: _write(_Recording(tx, seen), events, set()))
    return _cleared(db) - len(seen)


def test_a_statement_is_planned_once_whatever_the_sizes_of_its_batches(db) -> None:
    """Neo4j keys cached plans by the size bucket of each list parameter (0, 1, up to 10, 100, ...): a statement
    fed 1 row, then 7, then 40 was planned three times, seconds each under load. The write path passes its lists
    inside one map, so the same events split into batches of every size cost no plan beyond one per text. (Each
    batch starts with an association event: a statement after a write in its transaction has a plan of its own.)"""
    events = list({ev.id: ev for batch in rehearsal_batches() for ev in batch}.values())
    first = next(ev for ev in events if ev.node_properties().get("assoc_pair"))
    rest = [ev for ev in events if ev is not first]
    split, at = [], 0
    for size in (0, 1, 6, 29, 149):
        split.append([first, *rest[at:at + size]])
        at += size
    assert _plans_beyond_texts(db, split) == _plans_beyond_texts(db, [[first, *rest]])


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
