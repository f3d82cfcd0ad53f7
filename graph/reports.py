"""Audit reports as of any instant: every user with the groups, systems or applications they held then.

The vendor's reports API only knows "now"; these read the temporal edges instead. They reuse the access
traversal of graph.traversals (the same path shapes and validity rule as `User.access` / `User.groups`), only
started from every user of the organization at once, so a report and the GraphQL answers for one user never
disagree. One row per (user, target, path): a user reaching a system through two groups has two rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.db import Database
from graph.traversals import (MAX_MEMBER_HOPS, AccessPath, EventRef, Ref, _at, _event_ref, _must_ref, _paths,
                              _ref, _reach, _sort_key, _valid_at, _with_events)

KINDS = ("users-groups", "users-systems", "users-applications")

_USERS_GROUPS = f"""
MATCH p = (u:User {{organization: $org}})
          (()-[m:MEMBER_OF WHERE {_valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH u, grp, relationships(p) AS rels""" + _with_events(f"{{user: {_ref('u')}, target: {_ref('grp')}}}")


def _users_resources(label: str) -> str:
    assert label in ("System", "Application")
    return ("MATCH (u:User {organization: $org})" + _reach(_valid_at, "u") + f"WHERE res:{label}"
            + _with_events(f"{{user: {_ref('u')}, target: {_ref('res')}}}"))


_QUERIES = {"users-groups": _USERS_GROUPS, "users-systems": _users_resources("System"),
            "users-applications": _users_resources("Application")}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One way a user held a group membership or reached a resource at the instant. `granted_by` is the event of
    the path's most recent hop: the change that completed this path (None if that event is not stored)."""

    user: Ref
    target: Ref
    path: AccessPath
    granted_by: EventRef | None


def audit_report(db: Database, organization: str, kind: str, as_of_ms: int | None = None) -> list[ReportRow]:
    """The report `kind` (one of KINDS) at the instant (now by default), sorted by user, target, path."""
    if kind not in _QUERIES:
        raise ValueError(f"unknown report {kind!r}: one of {', '.join(KINDS)}")
    found = db.read(_QUERIES[kind], org=organization, t=_at(as_of_ms))[0]
    events = {e["id"]: _event_ref(e) for e in found["events"]}
    by_user: dict[Ref, list[dict[str, Any]]] = {}
    for row in found["rows"]:
        user = _must_ref(row["subject"]["user"])
        by_user.setdefault(user, []).append({"subject": row["subject"]["target"], "hops": row["hops"]})
    out: list[ReportRow] = []
    for user in sorted(by_user, key=_sort_key):
        paths = _paths(by_user[user], events)
        for target in sorted(paths, key=_sort_key):
            for path in paths[target]:
                last = max(path.hops, key=lambda h: (h.since, h.granted_by_event))
                out.append(ReportRow(user, target, path, last.granted_by))
    return out
