"""Temporal access: which edge an association_change maintains, and how a pair's events fold into intervals.

Pure functions, so that the interval history of a pair depends only on the set of that pair's events, never on
the order they arrived in: the ingest recomputes a pair from all its events each time one of them arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.model.events import Connection, EntityRef

PRINCIPALS = ("user", "user_group")
NOT_ACCESS = ("policy", "command", "user", "user_group", "admin", "organization")
ACCESS_RELS = ("MEMBER_OF", "HAS_ACCESS_TO", "ASSOCIATED_WITH")


def edge_for(conn: Connection) -> tuple[str, EntityRef, EntityRef] | None:
    """(relationship type, source, target) for a connection, decided by the endpoint types in either order."""
    a, b = conn.a, conn.b
    if a.id == b.id:
        return None
    types = {a.type, b.type}
    if types == {"user", "user_group"}:
        return ("MEMBER_OF", *((a, b) if a.type == "user" else (b, a)))
    if types == {"system", "system_group"}:
        return ("MEMBER_OF", *((a, b) if a.type == "system" else (b, a)))
    if types == {"user_group"}:
        return ("MEMBER_OF", a, b)  # nested groups: `from` is a member of `to`
    for principal, other in ((a, b), (b, a)):
        if principal.type == "user" and other.type not in NOT_ACCESS:
            return ("HAS_ACCESS_TO", principal, other)
    for principal, other in ((a, b), (b, a)):
        if principal.type == "user_group" and other.type not in NOT_ACCESS:
            return ("HAS_ACCESS_TO", principal, other)
    return ("ASSOCIATED_WITH", a, b)


@dataclass(frozen=True)
class Interval:
    since: int
    until: int | None
    granted_by: str
    revoked_by: str | None


def fold(events: list[tuple[int, str, str]]) -> list[Interval]:
    """Intervals from a pair's (ts, event id, op) events, ordered by (ts, id): an add opens, a remove closes;
    an add while open or a remove while closed changes nothing; `update` changes attributes, not validity."""
    intervals: list[Interval] = []
    opened: tuple[int, str] | None = None
    for ts, eid, op in sorted(events):
        if op == "add" and opened is None:
            opened = (ts, eid)
        elif op == "remove" and opened is not None:
            intervals.append(Interval(opened[0], ts, opened[1], eid))
            opened = None
    if opened is not None:
        intervals.append(Interval(opened[0], None, opened[1], None))
    return intervals
