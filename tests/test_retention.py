"""Retention against the real Neo4j: old raw events go, recent ones and the access history stay, a late
association event after retention still folds into the right intervals, and a dry run changes nothing.

Every CLI call here is limited to the test's own organization (the database is shared)."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from app.cli import main
from app.model.times import format_ms
from graph.db import Database
from graph.retention import RetentionError, parse_window
from tests.conftest import ingest, new_org, sample_events

DAY = 86_400_000
NOW = int(time.time() * 1000)
USER, ENG, OPS = "5eda6ab54fd13527dcd9ccf9", "5eda6c004fd13527dcd9cd10", "5eda6c004fd13527dcd9cd99"


def _template(event_type: str) -> dict[str, Any]:
    return next(e for e in sample_events() if e["event_type"] == event_type)


def login(org: str, days_ago: float) -> dict[str, Any]:
    ev = copy.deepcopy(_template("user_login_attempt"))
    ev.update(id=uuid.uuid4().hex[:24], organization=org, timestamp=format_ms(NOW - int(days_ago * DAY)))
    return ev


def assoc(org: str, eid: str, days_ago: float, op: str, group: str) -> dict[str, Any]:
    ev = copy.deepcopy(_template("association_change"))
    ev.update(id=eid, organization=org, timestamp=format_ms(NOW - int(days_ago * DAY)))
    ev["association"]["op"] = op
    ev["association"]["connection"]["to"]["object_id"] = group
    ev["association"]["connection"]["to"]["name"] = "Ops" if group == OPS else "Engineering"
    return ev


# user -> Engineering: in 200..150 days ago, again from 100 days ago; user -> Ops: from 30 days ago
HISTORY = [("a1", 200, "add", ENG), ("a2", 150, "remove", ENG), ("a3", 100, "add", ENG), ("a4", 30, "add", OPS)]
LATE = ("a5", 95, "remove", ENG)  # arrives after retention, older than the window


def story(org: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(old logins, recent logins + association events)."""
    old = [login(org, d) for d in (400, 200, 120, 91)]
    recent = [login(org, d) for d in (80, 10, 0.5)]
    return old, recent + [assoc(org, *h) for h in HISTORY]


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def event_ids(db: Database, org: str) -> set[str]:
    return {r["id"] for r in db.read("MATCH (e:Event {organization: $org}) RETURN e.id AS id", org=org)}


def intervals(db: Database, org: str) -> list[tuple]:
    rows = db.read(
        """MATCH (a {organization: $org})-[r:MEMBER_OF|HAS_ACCESS_TO|ASSOCIATED_WITH]->(b)
           RETURN type(r) AS t, a.id AS a, b.id AS b, r.since AS since, r.until AS until,
                  r.granted_by_event AS g, r.revoked_by_event AS v""", org=org)
    return sorted((r["t"], r["a"], r["b"], r["since"], r["until"], r["g"], r["v"]) for r in rows)


def entities(db: Database, org: str) -> list[str]:
    """Every non-event node with its properties (write tokens aside), as comparable text."""
    rows = db.read("MATCH (n {organization: $org}) WHERE NOT n:Event "
                   "RETURN labels(n) AS l, properties(n) AS p", org=org)
    return sorted(repr((r["l"], sorted((k, v) for k, v in r["p"].items() if k not in ("lock", "batch"))))
                  for r in rows)


def test_parse_window() -> None:
    assert parse_window("90d") == 90 * DAY
    assert parse_window(" 12W ") == 84 * DAY
    assert parse_window("24h") == DAY
    assert parse_window("1y") == 365 * DAY
    for bad in ("", "90", "d", "-1d", "0d", "1.5d", "90 days"):
        with pytest.raises(RetentionError):
            parse_window(bad)


def test_dry_run_changes_nothing(db: Database, org: str) -> None:
    old, recent = story(org)
    ingest(db, old + recent)
    before = (event_ids(db, org), entities(db, org), intervals(db, org))
    out = run("retention", "--keep", "90d", "--organization", org).output
    assert f"{org}: would delete 4 events; keeping 3 older association_change and user lifecycle events" in out
    assert "nothing was deleted" in out
    assert (event_ids(db, org), entities(db, org), intervals(db, org)) == before


def test_retention_removes_old_events_and_keeps_history(db: Database, org: str) -> None:
    old, recent = story(org)
    ingest(db, old + recent)
    ents, ivs = entities(db, org), intervals(db, org)
    assert len(ivs) == 3
    out = run("retention", "--yes", "--keep", "90d", "--organization", org, "--batch-size", "3").output
    assert f"{org}: deleted 4 events" in out
    assert event_ids(db, org) == {e["id"] for e in recent}  # every association event stays, whatever its age
    assert entities(db, org) == ents
    assert intervals(db, org) == ivs
    # nothing left to do on a second run
    assert f"{org}: deleted 0 events" in run("retention", "--yes", "--keep", "90d", "--organization", org).output
    assert event_ids(db, org) == {e["id"] for e in recent}


def test_setting_is_the_default_window_and_other_orgs_are_untouched(db: Database, org: str) -> None:
    other = new_org()
    for o in (org, other):
        old, recent = story(o)
        ingest(db, old + recent)
    run("retention", "--yes", "--organization", org, env={"INSIGHTGRAPH_RETENTION": "150d"})
    assert len(event_ids(db, org)) == 11 - 2  # the logins of 400 and 200 days ago
    assert len(event_ids(db, other)) == 11


def test_late_association_event_after_retention_folds_correctly(db: Database, org: str) -> None:
    reference = new_org()
    old, recent = story(org)
    ingest(db, old + recent)
    run("retention", "--yes", "--keep", "90d", "--organization", org)
    ingest(db, [assoc(org, *LATE)])

    ref_old, ref_recent = story(reference)
    ingest(db, ref_old + ref_recent + [assoc(reference, *LATE)])
    got, want = intervals(db, org), intervals(db, reference)
    assert got == want
    eng = [iv for iv in got if iv[2] == ENG]
    assert [(iv[3], iv[4], iv[5], iv[6]) for iv in eng] == [
        (NOW - 200 * DAY, NOW - 150 * DAY, "a1", "a2"), (NOW - 100 * DAY, NOW - 95 * DAY, "a3", "a5")]


def test_not_configured_keeps_everything(db: Database, org: str) -> None:
    old, recent = story(org)
    ingest(db, old + recent)
    out = run("retention", "--yes", "--organization", org, env={"INSIGHTGRAPH_RETENTION": ""}).output
    assert "kept forever" in out
    assert len(event_ids(db, org)) == 11
