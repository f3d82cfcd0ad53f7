"""Audit reports as of any instant: every user with the groups, systems or applications they held then.

The vendor's reports API only knows "now"; these read the temporal edges instead. They reuse the access
traversal of graph.fragments (the same path shapes and validity rule as `User.access` / `User.groups`), only
started from every user of the organization at once, so a report and the GraphQL answers for one user never
disagree. One row per (user, target, path): a user reaching a system through two groups has two rows.
"""

from __future__ import annotations

from typing import Any

from app.model.results import Ref, ReportRow, ref_sort_key
from graph.db import Database
from graph.fragments import (MAX_MEMBER_HOPS, at, event_ref, must_ref, paths_of, reach, ref_map, valid_at,
                             with_events)

KINDS = ("users-groups", "users-systems", "users-applications")

_USERS_GROUPS = f"""
MATCH p = (u:User {{organization: $org}})
          (()-[m:MEMBER_OF WHERE {valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH u, grp, relationships(p) AS rels""" + with_events(f"{{user: {ref_map('u')}, target: {ref_map('grp')}}}")


def _users_resources(label: str) -> str:
    assert label in ("System", "Application")
    return ("MATCH (u:User {organization: $org})" + reach(valid_at, "u") + f"WHERE res:{label}"
            + with_events(f"{{user: {ref_map('u')}, target: {ref_map('res')}}}"))


_QUERIES = {"users-groups": _USERS_GROUPS, "users-systems": _users_resources("System"),
            "users-applications": _users_resources("Application")}


def audit_report(db: Database, organization: str, kind: str, as_of_ms: int | None = None) -> list[ReportRow]:
    """The report `kind` (one of KINDS) at the instant (now by default), sorted by user, target, path."""
    if kind not in _QUERIES:
        raise ValueError(f"unknown report {kind!r}: one of {', '.join(KINDS)}")
    found = db.read(_QUERIES[kind], org=organization, t=at(as_of_ms))[0]
    events = {e["id"]: event_ref(e) for e in found["events"]}
    by_user: dict[Ref, list[dict[str, Any]]] = {}
    for row in found["rows"]:
        user = must_ref(row["subject"]["user"])
        by_user.setdefault(user, []).append({"subject": row["subject"]["target"], "hops": row["hops"]})
    out: list[ReportRow] = []
    for user in sorted(by_user, key=ref_sort_key):
        paths = paths_of(by_user[user], events)
        for target in sorted(paths, key=ref_sort_key):
            for path in paths[target]:
                last = max(path.hops, key=lambda h: (h.since, h.granted_by_event))
                out.append(ReportRow(user, target, path, last.granted_by))
    return out
