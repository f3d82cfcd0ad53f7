"""Temporal access: a user's groups and reachable resources at an instant with every grant path, why a user reaches
a resource, what changed between two instants, a group's members, who can reach a resource, and the interval edges
around any entity. The shared path Cypher is in graph.fragments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from app.model.entities import ENTITY_LABELS, LOOKUP_KEYS, normalise_ip
from app.model.intervals import span
from app.model.identity import StatusSpan
from app.model.results import (AccessChange, AccessDiff, AccessPath, EffectiveAccess, EventRef, GroupMember,
                               GroupMembership, Neighbour, PrincipalAccess, Ref, ref_sort_key)
from graph.db import Database
from graph.fragments import (MAX_MEMBER_HOPS, at, must_ref, paths_from, reach, read_paths, ref_map, sorted_items,
                             started_before, valid_at, with_events)
from graph.lookup import find_by_id
from graph.principals import STATUS_EVENTS_OF_UID, STATUS_TYPES, spans_of, status_and_block, statuses_at

_ACCESS_AT = (  # the user's paths valid at $t (to $rid, or to everything) and its status events
    "MATCH (u:User {organization: $org, id: $uid})"
    + reach(valid_at, "u")
    + "WHERE $rid IS NULL OR res.id = $rid"
    + with_events(ref_map('res'), STATUS_EVENTS_OF_UID, "status")
)

# Every path (not only currently valid ones) from some users to some resources, for reachability timelines.
ACCESS_EVER = (
    "UNWIND $rows AS row\nMATCH (u:User {organization: $org, id: row.uid})"
    + reach(started_before, "u, row")
    + "WHERE res.id IN row.rids\n"
    "RETURN row.uid AS uid, res.id AS rid, [r IN rels | [r.since, r.until, r.revoked_by_event]] AS hops"
)

def _who_can_access_query(label: str) -> str:
    assert label in ENTITY_LABELS
    user_chain = (f"(u:User {{organization: $org}})"
                  f"(()-[m:MEMBER_OF WHERE {valid_at('m')}]->(:Group {{organization: $org}})){{0,{MAX_MEMBER_HOPS}}}"
                  f"()-[g:HAS_ACCESS_TO WHERE {valid_at('g')}]->")
    return f"""
MATCH (x:{label} {{organization: $org, id: $rid}})
CALL (x) {{
  MATCH p = {user_chain}(x)
  RETURN u, relationships(p) AS rels
  UNION ALL
  MATCH (x)-[s:MEMBER_OF WHERE {valid_at('s')}]->(sg:Group {{organization: $org, kind: 'system'}})
  MATCH p = {user_chain}(sg)
  RETURN u, relationships(p) + [s] AS rels
}}""" + with_events(ref_map('u'))


_WHO_CAN_ACCESS = {label: _who_can_access_query(label) for label in ENTITY_LABELS}

_GROUPS_AT = f"""
MATCH p = (u:User {{organization: $org, id: $uid}})
          (()-[m:MEMBER_OF WHERE {valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH grp, relationships(p) AS rels""" + with_events(ref_map('grp'))

_MEMBERS_AT = f"""
MATCH (grp:Group {{organization: $org, id: $gid}})
MATCH p = (member {{organization: $org}})
          (()-[m:MEMBER_OF WHERE {valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH member, relationships(p) AS rels""" + with_events(ref_map('member'))



def _neighbours_query(label: str) -> str:
    assert label in LOOKUP_KEYS
    key = "address" if label == "IPAddress" else "id"
    return f"""
MATCH (n:{label} {{organization: $org, {key}: $id}})
      -[r:MEMBER_OF|HAS_ACCESS_TO|ASSOCIATED_WITH WHERE {valid_at('r')}]-(o)
WHERE o.organization = $org
RETURN type(r) AS rel, startNode(r) = n AS out, {ref_map('o')} AS node, r.since AS since, r.until AS until,
       r.granted_by_event AS granted, r.revoked_by_event AS revoked
ORDER BY rel, node.label, node.name, node.id, since
LIMIT $limit
"""



def groups_as_of(db: Database, organization: str, user_id: str, as_of_ms: int | None = None) -> list[GroupMembership]:
    """The user's groups at the instant, direct and through nested groups (up to MAX_MEMBER_HOPS)."""
    found = read_paths(db, _GROUPS_AT, org=organization, uid=user_id, t=at(as_of_ms))
    return [GroupMembership(ref, paths[0].kind == "direct", len(paths[0].hops), paths)
            for ref, paths in sorted_items(found)]


def _access_at(db: Database, organization: str, user_id: str, resource_id: str | None,
               t: int) -> tuple[dict[Ref, list[AccessPath]], list[StatusSpan]]:
    """The user's paths valid at t (to one resource, or all) and its status spans, in one round trip."""
    found = db.read(_ACCESS_AT, org=organization, uid=user_id, rid=resource_id, t=t,
                    status_types=STATUS_TYPES)[0]
    return paths_from(found), spans_of(found["status"])


def access_as_of(db: Database, organization: str, user_id: str, as_of_ms: int | None = None) -> list[EffectiveAccess]:
    """Every resource the user could reach at the instant, with all grant paths (direct, through user groups,
    nested groups, and system groups), each hop valid at that instant. One traversal."""
    t = at(as_of_ms)
    found, spans = _access_at(db, organization, user_id, None, t)
    if not found:
        return []
    status, blocked = status_and_block(spans, t)
    return [EffectiveAccess(ref, paths, status, blocked, blocked is None) for ref, paths in sorted_items(found)]


def access_path(db: Database, organization: str, user_id: str, resource_id: str,
                as_of_ms: int | None = None) -> list[AccessPath]:
    """Why this user can reach that resource at the instant: every grant path; empty when none."""
    t = at(as_of_ms)
    found, spans = _access_at(db, organization, user_id, resource_id, t)
    if not found:
        return []
    blocked = status_and_block(spans, t)[1]
    return [replace(p, blocked_by=blocked, effective=blocked is None) for paths in found.values() for p in paths]


def access_diff(db: Database, organization: str, user_id: str, from_ms: int, to_ms: int) -> AccessDiff:
    """Resources reachable at `to_ms` but not at `from_ms` (gained, with the granting events of the hops that began
    in between) and the reverse (lost, with the revoking events of the hops that ended in between). Only the two
    instants are compared: access gained and lost again in between is neither."""
    if from_ms > to_ms:
        raise ValueError("from_ms must not be after to_ms")
    before = {a.resource: a for a in access_as_of(db, organization, user_id, from_ms)}
    after = {a.resource: a for a in access_as_of(db, organization, user_id, to_ms)}
    lo, hi = from_ms, to_ms

    def change(access: EffectiveAccess, gained: bool) -> AccessChange:
        found: dict[str, EventRef] = {}
        for path in access.paths:
            for h in path.hops:
                if gained and lo < h.since <= hi and h.granted_by is not None:
                    found[h.granted_by.id] = h.granted_by
                if not gained and h.until is not None and lo < h.until <= hi and h.revoked_by is not None:
                    found[h.revoked_by.id] = h.revoked_by
        return AccessChange(access.resource, tuple(sorted(found.values(), key=lambda e: (e.ts, e.id))), access.paths)

    gained = tuple(change(after[r], True) for r in sorted(after.keys() - before.keys(), key=ref_sort_key))
    lost = tuple(change(before[r], False) for r in sorted(before.keys() - after.keys(), key=ref_sort_key))
    status = statuses_at(db, organization, [user_id], from_ms)[user_id][0], \
        statuses_at(db, organization, [user_id], to_ms)[user_id][0]
    return AccessDiff(from_ms, to_ms, gained, lost, *status)


def members_as_of(db: Database, organization: str, group_id: str, as_of_ms: int | None = None) -> list[GroupMember]:
    """A group's members at the instant: users and nested groups of a user group (with the users of those),
    systems of a system group."""
    found = read_paths(db, _MEMBERS_AT, org=organization, gid=group_id, t=at(as_of_ms))
    out = []
    for ref, paths in sorted_items(found):
        out.append(GroupMember(ref, paths[0].kind == "direct", len(paths[0].hops), paths))
    return out


def who_can_access(db: Database, organization: str, resource_id: str,
                   as_of_ms: int | None = None) -> list[PrincipalAccess]:
    """Users who could reach the resource (application, system, RADIUS/LDAP server, ...) at the instant, with
    every grant path. A system is reached directly or through the system groups it belongs to."""
    found = find_by_id(db, organization, resource_id)
    if found is None:
        return []
    t = at(as_of_ms)
    paths = read_paths(db, _WHO_CAN_ACCESS[found.label], org=organization, rid=resource_id, t=t)
    status = statuses_at(db, organization, [ref.id for ref in paths], t)
    return [PrincipalAccess(ref, p, *status[ref.id], status[ref.id][1] is None) for ref, p in sorted_items(paths)]



def reach_windows(db: Database, organization: str, pairs: set[tuple[str, str]],
                   before_ms: int) -> dict[tuple[str, str], list[tuple[int, int | None, str | None]]]:
    """For (user id, resource id) pairs: the spans (since, until, revoking event) in which some grant path held,
    from every path whose hops began before `before_ms`."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for uid, rid in pairs:
        wanted[uid].append(rid)
    rows = [{"uid": u, "rids": sorted(r)} for u, r in sorted(wanted.items())]
    out: dict[tuple[str, str], list[tuple[int, int | None, str | None]]] = defaultdict(list)
    if not rows:
        return out
    for r in db.read(ACCESS_EVER, org=organization, rows=rows, t=before_ms):
        since, until = span((h[0], h[1]) for h in r["hops"])
        if until is None or since < until:
            revoked = next((h[2] for h in r["hops"] if h[1] == until), None) if until is not None else None
            out[(r["uid"], r["rid"])].append((since, until, revoked))
    return out



def neighbours(db: Database, organization: str, label: str, id: str, as_of_ms: int | None = None,
               limit: int = 500) -> list[Neighbour]:
    """Entities joined to this one by a MEMBER_OF / HAS_ACCESS_TO / ASSOCIATED_WITH edge valid at the instant."""
    if label not in LOOKUP_KEYS:
        raise ValueError(f"unknown entity label {label!r}")
    key = normalise_ip(id) if label == "IPAddress" else id
    rows = db.read(_neighbours_query(label), org=organization, id=key, t=at(as_of_ms), limit=int(limit))
    return [Neighbour(r["rel"], "out" if r["out"] else "in", must_ref(r["node"]), r["since"], r["until"],
                      r["granted"], r["revoked"]) for r in rows]
