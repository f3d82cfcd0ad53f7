"""Temporal access: which edge an association_change maintains, and how a pair's events fold into intervals.

Pure functions, so that the interval history of a pair depends only on the set of that pair's events, never on
the order they arrived in: the ingest recomputes a pair from all its events each time one of them arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from app.model.events import Connection, EntityRef

NOT_ACCESS = ("policy", "command", "user", "user_group", "admin", "organization")
ACCESS_RELS = ("MEMBER_OF", "HAS_ACCESS_TO", "ASSOCIATED_WITH")
LO, HI = -(2**62), 2**62  # unbounded ends of a window or span, still plain integers for range index seeks


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


def path_kind(rels: list[str]) -> str:
    """How a grant path reaches its resource, from its relationship types in order (user side first)."""
    if "HAS_ACCESS_TO" not in rels:  # a membership chain
        return "direct" if len(rels) == 1 else "nested"
    members = rels.index("HAS_ACCESS_TO")
    kind = "direct" if members == 0 else "group" if members == 1 else "nested_group"
    return kind + "+system_group" if rels[-1] == "MEMBER_OF" else kind


def span(pairs: Iterable[tuple[int, int | None]]) -> tuple[int, int | None]:
    """The span in which intervals all hold together (it may be empty: since >= until)."""
    since, until = LO, None
    for s, u in pairs:
        since = max(since, s)
        if u is not None:
            until = u if until is None else min(until, u)
    return since, until



def account_ranges(timeline: list[tuple[int, str, str]]) -> list[tuple[int, int]]:
    """The spans in which the account was suspended or deleted."""
    out, start = [], None
    for ts, status, _ in timeline:
        if status != "active" and start is None:
            start = ts
        elif status == "active" and start is not None:
            out.append((start, ts))
            start = None
    if start is not None:
        out.append((start, HI))
    return out


def gaps(spans: list[tuple[int, int | None, str | None]]) -> list[tuple[int, int]]:
    """The spans, after access first began, in which no grant path held."""
    merged: list[list[int]] = []
    for since, until, _ in sorted(spans, key=lambda x: x[0]):
        end = HI if until is None else until
        if merged and since <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([since, end])
    gaps = [(a[1], b[0]) for a, b in zip(merged, merged[1:])]
    if merged and merged[-1][1] < HI:
        gaps.append((merged[-1][1], HI))
    return gaps


def revocation_reasons(ts: int, timeline: list[tuple[int, str, str]],
             spans: list[tuple[int, int | None, str | None]] | None) -> list[tuple[str, int, str | None]]:
    """Why a successful login at `ts` should not have happened (empty: it was fine). `spans` None: a service."""
    reasons: list[tuple[str, int, str | None]] = []
    if spans is not None:
        valid = any(s <= ts and (u is None or ts < u) for s, u, _ in spans)
        ended = [(u, rev) for _, u, rev in spans if u is not None and u <= ts]
        if not valid and ended:
            until, revoked = max(ended, key=lambda x: x[0])
            reasons.append(("access_revoked", until, revoked))
    current = [s for s in timeline if s[0] <= ts]
    if current and current[-1][1] != "active":
        reasons.append(("user_" + current[-1][1], current[-1][0], current[-1][2]))
    return reasons


def burst_ranges(times: list[int], window_ms: int, threshold: int) -> list[tuple[int, int]]:
    """Index ranges [a, b] of the sorted `times` in which at least `threshold` fall within `window_ms` of each
    other; overlapping windows merge into one range."""
    ranges: list[list[int]] = []
    j = 0
    for i in range(len(times)):
        j = max(j, i)
        while j + 1 < len(times) and times[j + 1] - times[i] < window_ms:
            j += 1
        if j - i + 1 >= threshold:
            if ranges and i <= ranges[-1][1]:
                ranges[-1][1] = j
            else:
                ranges.append([i, j])
    return [(a, b) for a, b in ranges]
