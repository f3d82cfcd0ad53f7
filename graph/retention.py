"""Retention: remove raw events older than a window, keep what the access history is made of.

What goes: `:Event` nodes (and their links to entities and IPs) whose `ts` is older than the cutoff.
What stays, so "who had access to what, when" stays answerable for any date:
  * entity nodes (users, groups, systems, ...), IP nodes and their names;
  * the interval edges (MEMBER_OF / HAS_ACCESS_TO / ASSOCIATED_WITH), which live between entity nodes;
  * every association_change event (`assoc_pair` set), whatever its age. The ingest refolds a connection's
    intervals from *all* its association events whenever a new one arrives (graph/write.py `_refold`), so deleting
    them would make a late event erase the history before it. They are a small share of all events, and keeping
    them is simpler and safer than a folded baseline that every refold would have to merge.
  * every user lifecycle and status event (app.model.identity.STATUS_EVENT_TYPES: create, update, delete,
    suspend, lock, ...), for the same reason: a user's name intervals are refolded from all of them
    (graph/resolution.py), and the account status is derived from them.

Deletion runs per organization in LIMITed batches, each its own transaction, so memory and transaction size stay
bounded and an interrupted run simply continues on the next one. An event older than the window that is delivered
again after its deletion is stored again (its id is no longer known) and goes at the next run.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable

from app.model.identity import STATUS_EVENT_TYPES
from graph.db import Database

KEEP_TYPES = list(STATUS_EVENT_TYPES)  # what a user's names and status are folded from

_UNITS_MS = {"h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000, "y": 365 * 86_400_000}
_WINDOW = re.compile(r"^\s*(\d+)\s*([hdwy])\s*$", re.IGNORECASE)

_ORGS = "MATCH (o:Organization) RETURN DISTINCT o.organization AS organization ORDER BY organization"

_COUNT = """
MATCH (e:Event {organization: $org}) WHERE e.ts < $cutoff
RETURN count(CASE WHEN e.assoc_pair IS NULL AND NOT e.event_type IN $keep THEN 1 END) AS expired,
       count(CASE WHEN e.assoc_pair IS NOT NULL OR e.event_type IN $keep THEN 1 END) AS kept
"""

_DELETE = """
MATCH (e:Event {organization: $org}) WHERE e.ts < $cutoff AND e.assoc_pair IS NULL AND NOT e.event_type IN $keep
WITH e LIMIT $limit
DETACH DELETE e
RETURN count(*) AS n
"""


class RetentionError(ValueError):
    """A retention window that cannot be understood."""


def parse_window(text: str) -> int:
    """'90d' -> milliseconds. Units: h(ours), d(ays), w(eeks), y(ears of 365 days); zero is refused (it would
    delete everything by accident)."""
    m = _WINDOW.match(text or "")
    if not m:
        raise RetentionError(f"retention window {text!r}: use a number and a unit, e.g. 90d, 12w, 24h or 1y")
    n = int(m.group(1))
    if n <= 0:
        raise RetentionError(f"retention window {text!r} must be longer than zero")
    return n * _UNITS_MS[m.group(2).lower()]


def cutoff_for(window: str, now_ms: int | None = None) -> int:
    """Epoch ms before which events expire."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    return now - parse_window(window)


@dataclass
class OrgRetention:
    organization: str
    expired: int  # events older than the cutoff that go (dry run: would go)
    kept: int  # association_change events older than the cutoff that stay
    deleted: int = 0


def organizations(db: Database) -> list[str]:
    return [r["organization"] for r in db.read(_ORGS) if r["organization"]]


def plan(db: Database, cutoff: int, orgs: list[str] | None = None) -> list[OrgRetention]:
    """What a run would delete, per organization (organizations with nothing old are left out)."""
    out = []
    for org in orgs if orgs is not None else organizations(db):
        row = db.read(_COUNT, org=org, cutoff=cutoff, keep=KEEP_TYPES)[0]
        if row["expired"] or row["kept"]:
            out.append(OrgRetention(org, row["expired"], row["kept"]))
    return out


def apply(db: Database, cutoff: int, orgs: list[str] | None = None, batch: int = 5000,
          progress: Callable[[str, int], None] | None = None) -> list[OrgRetention]:
    """Delete expired events in batches of `batch` (one transaction each); returns what was deleted per org."""
    results = plan(db, cutoff, orgs)
    for res in results:
        while True:
            n = db.write(_DELETE, org=res.organization, cutoff=cutoff, limit=batch, keep=KEEP_TYPES)[0]["n"]
            res.deleted += n
            if progress and n:
                progress(res.organization, n)
            if n < batch:
                break
    return results
