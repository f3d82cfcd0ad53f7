"""Reading identity: who held a name at an instant, an account's status over time, and the names sign-ins used
that nobody held (graph/resolution.py writes what this reads; the rules are app/model/identity.py)."""

from __future__ import annotations

from collections import defaultdict

from app.model.audit import USER_AUTH_TYPES
from app.model.identity import STATUS_EVENT_TYPES, StatusSpan, blocked_by, fold_status, norm, status_at, status_facts
from app.model.jsonutil import loads
from app.model.results import UnresolvedIdentity
from graph.db import Database
from graph.fragments import at, time_window

_HOLDER = """
MATCH (:Identity {organization: $org, kind: $kind, name: $name})-[h:HELD_BY]->(u:User {organization: $org})
WHERE h.since <= $t AND (h.until IS NULL OR $t < h.until)
RETURN u.id AS id ORDER BY id LIMIT 1
"""

_STATUS_EVENTS = """
UNWIND $uids AS uid
MATCH (:User {organization: $org, id: uid})<-[:TARGETS]-(e)
WHERE e.organization = $org AND e.event_type IN $types
RETURN uid, e.id AS id, e.ts AS ts, e.event_type AS event_type, e.raw AS raw
"""

# The same events of one user ($uid), as a subquery a traversal can end with: its status comes in the same round
# trip (graph/access.py). Returns `status`: [[id, ts, event_type, raw], ...].
STATUS_EVENTS_OF_UID = """
CALL () {
  MATCH (:User {organization: $org, id: $uid})<-[:TARGETS]-(s)
  WHERE s.organization = $org AND s.event_type IN $status_types
  RETURN collect([s.id, s.ts, s.event_type, s.raw]) AS status
}
"""
STATUS_TYPES = list(STATUS_EVENT_TYPES)

_UNRESOLVED = """
MATCH (e:Event {organization: $org})-[r:NAMED]->(i:Identity)
WHERE e.ts >= $from AND e.ts < $to AND e.event_type IN $auth AND NOT EXISTS { (e)-[:AUTHENTICATED_AS]->() }
WITH e, i ORDER BY r.rank
WITH e, head(collect(i)) AS i
RETURN i.kind AS kind, i.name AS name, count(e) AS attempts,
       sum(CASE WHEN e.f_success = false THEN 1 ELSE 0 END) AS failures, min(e.ts) AS first_seen,
       max(e.ts) AS last_seen, collect(DISTINCT e.service) AS services
ORDER BY attempts DESC, kind, name
LIMIT $limit
"""


def holder_of(db: Database, organization: str, kind: str, name: str, as_of_ms: int | None = None) -> str | None:
    """The id of the user who held the name (any letter case) at the instant (now by default); None: nobody."""
    key = norm(name)
    if key is None:
        return None
    rows = db.read(_HOLDER, org=organization, kind=kind, name=key, t=at(as_of_ms))
    return rows[0]["id"] if rows else None


def status_histories(db: Database, organization: str, user_ids: list[str]) -> dict[str, list[StatusSpan]]:
    """Each user's account status spans (active / suspended / locked / deleted), from the user's own events."""
    rows: dict[str, list[list]] = defaultdict(list)
    wanted = sorted(set(user_ids))
    if wanted:
        for r in db.read(_STATUS_EVENTS, org=organization, uids=wanted, types=STATUS_TYPES):
            rows[r["uid"]].append([r["id"], r["ts"], r["event_type"], r["raw"]])
    return {uid: spans_of(rows.get(uid, [])) for uid in wanted}


def spans_of(events: list[list]) -> list[StatusSpan]:
    """A user's status spans from its status events as [id, ts, event_type, raw] rows."""
    facts = []
    for eid, ts, event_type, raw in events:
        f = status_facts(event_type, loads(raw))
        if f:
            facts.append((ts, eid, f))
    return fold_status(facts)


def status_and_block(spans: list[StatusSpan], t: int) -> tuple[str | None, str | None]:
    """(status, blocking reason or None) at instant `t`."""
    span = status_at(spans, t)
    return (span.status if span else None, blocked_by(span))


def status_history(db: Database, organization: str, user_id: str) -> list[StatusSpan]:
    return status_histories(db, organization, [user_id])[user_id]


def status_as_of(db: Database, organization: str, user_id: str, as_of_ms: int | None = None) -> StatusSpan | None:
    """The account's status span at the instant (now by default); None before the account was created."""
    return status_at(status_history(db, organization, user_id), at(as_of_ms))


def statuses_at(db: Database, organization: str, user_ids: list[str],
                t: int) -> dict[str, tuple[str | None, str | None]]:
    """Per user: (status, blocking reason or None) at instant `t`."""
    return {uid: status_and_block(spans, t) for uid, spans in status_histories(db, organization, user_ids).items()}


def unresolved_identities(db: Database, organization: str, from_ms: int | None = None, to_ms: int | None = None,
                          limit: int = 100) -> list[UnresolvedIdentity]:
    """Sign-ins in the window that no account held the name of at their instant, per name (the first name each
    used): attempts against unknown, deleted or renamed-away accounts."""
    rows = db.read(_UNRESOLVED, org=organization, auth=list(USER_AUTH_TYPES), limit=int(limit),
                   **time_window(from_ms, to_ms))
    return [UnresolvedIdentity(r["kind"], r["name"], r["attempts"], r["failures"], r["first_seen"], r["last_seen"],
                               tuple(sorted(r["services"]))) for r in rows]
