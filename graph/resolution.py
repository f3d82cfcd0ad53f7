"""Identity at ingest: who each sign-in belongs to, resolved into the graph inside the batch's transaction.

    (:Identity {organization, kind, name})-[:HELD_BY {organization, since, until, by_event, ended_by_event}]->(:User)
    (e:Event)-[:NAMED {rank}]->(:Identity)            every name a sign-in uses for its principal (never changes)
    (e:Event)-[:AUTHENTICATED_AS {by, name}]->(:User)  the resolved principal: by 'id' (initiated_by named the
                                                       user's id) or by 'username' / 'email' (who held that name
                                                       at the event's instant)

Order-independent like the access intervals (graph/write.py): a user's HELD_BY intervals are refolded from all the
user's lifecycle events and its stored names (app/model/identity.fold_names) whenever one of those arrives or
changes, and every sign-in NAMED with a name whose intervals changed is resolved again. A batch's own sign-ins are
resolved before its events are created, and their NAMED / AUTHENTICATED_AS edges are created with them. Users,
then identities, are locked (a write to the node) in a fixed order before they are read, so two writers of one
name take turns.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import neo4j

from app.model.audit import USER_AUTH_TYPES
from app.model.events import Event
from app.model.identity import (LIFECYCLE_TYPES, Held, direct_user, fold_names, lifecycle_facts, principal_names,
                                resolve)
from app.model.jsonutil import loads

# Lists arrive in the map parameter `$batch`, as in graph/write.py (why: the plan cache's size buckets).

_LOCK_USERS = """
UNWIND $batch.users AS u
MATCH (n:User {organization: u.organization, id: u.id})
SET n.lock = $token
"""

_LOCK_IDENTITIES = """
UNWIND $batch.names AS i
MERGE (n:Identity {organization: i.organization, kind: i.kind, name: i.name})
SET n.lock = $token
RETURN i.organization AS organization, i.kind AS kind, i.name AS name, elementId(n) AS node
"""

_USER_NODES = """
UNWIND $batch.users AS u
MATCH (n:User {organization: u.organization, id: u.id})
RETURN u.organization AS organization, u.id AS id, elementId(n) AS node
"""

_USER_STATE = f"""
UNWIND $batch.users AS x
MATCH (u:User {{organization: x.organization, id: x.id}})
RETURN x.organization AS organization, x.id AS id, u.username AS username, u.email AS email,
  COLLECT {{ MATCH (u)<-[:TARGETS]-(e) WHERE e.organization = x.organization AND e.event_type IN {list(LIFECYCLE_TYPES)}
             RETURN [e.ts, e.id, e.event_type, e.raw] }} AS events,
  COLLECT {{ MATCH (u)<-[h:HELD_BY]-(i:Identity) WHERE h.organization = x.organization
             RETURN [i.kind, i.name, h.since, h.until, h.by_event, h.ended_by_event] }} AS held
"""

_DELETE_HELD = """
UNWIND $batch.users AS x
MATCH (:User {organization: x.organization, id: x.id})<-[h:HELD_BY]-(:Identity)
DELETE h
"""

_CREATE_HELD = """
UNWIND $batch.rows AS r
MATCH (u:User {organization: r.organization, id: r.user})
MERGE (i:Identity {organization: r.organization, kind: r.kind, name: r.name})
CREATE (i)-[:HELD_BY {organization: r.organization, since: r.since, until: r.until, by_event: r.by_event,
                      ended_by_event: r.ended_by}]->(u)
"""

_NAMED_EVENTS = """
UNWIND $batch.names AS n
MATCH (:Identity {organization: n.organization, kind: n.kind, name: n.name})<-[:NAMED]-(e)
WITH DISTINCT e
RETURN e.organization AS organization, e.id AS id, e.ts AS ts,
       COLLECT { MATCH (e)-[r:NAMED]->(i:Identity) RETURN [r.rank, i.kind, i.name] } AS names,
       COLLECT { MATCH (e)-[a:AUTHENTICATED_AS]->(u:User) RETURN [u.id, a.by, a.name] } AS current
"""

_HOLDERS = """
UNWIND $batch.names AS n
MATCH (:Identity {organization: n.organization, kind: n.kind, name: n.name})-[h:HELD_BY]->(u:User)
RETURN n.organization AS organization, n.kind AS kind, n.name AS name, h.since AS since, h.until AS until,
       u.id AS user, elementId(u) AS node
"""

_UNLINK = """
UNWIND $batch.rows AS r
MATCH (:Event {organization: r.organization, id: r.event})-[a:AUTHENTICATED_AS]->()
DELETE a
"""

_LINK = """
UNWIND $batch.rows AS r
MATCH (e:Event {organization: r.organization, id: r.event})
MATCH (u:User {organization: r.organization, id: r.user})
CREATE (e)-[:AUTHENTICATED_AS {by: r.kind, name: r.name}]->(u)
"""

Name = tuple[str, str, str]  # (organization, kind, name)


def _as_rows(names: set[Name]) -> list[dict[str, str]]:
    return [{"organization": o, "kind": k, "name": n} for o, k, n in sorted(names)]


Link = tuple[str, str, dict[str, Any]]  # (relationship type, element id of the node, its properties)


def resolve_batch(tx: neo4j.ManagedTransaction, new: list[Event], token: str,
                  node: dict[tuple[str, str, str], str], renamed: set[tuple[str, str]]) -> list[list[Link]]:
    """Before the batch's events are created: refold the name history of users the batch says something about
    (their stored lifecycle events plus the batch's), re-resolve every stored sign-in naming a name whose history
    changed, and resolve the batch's own sign-ins. Returns, per event of `new`, the NAMED and AUTHENTICATED_AS
    links the events statement creates with it (graph/write.py); `node` holds the element ids of the batch's
    entities, (label, organization, id) -> element id; `renamed` the users whose stored username or email this
    transaction changed (a user's name history is a function of its lifecycle events and those names only, so
    those are the users to refold besides the ones the batch's lifecycle events are about)."""
    direct: list[tuple[int, str, str]] = []  # (index in new, organization, user id)
    named: list[tuple[int, str, str, str, int]] = []  # (index, organization, kind, name, rank)
    mentioned: set[Name] = set()
    lifecycle: dict[tuple[str, str], list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
    for i, ev in enumerate(new):
        org = ev.organization
        if ev.event_type in USER_AUTH_TYPES:
            uid = direct_user(ev.raw)
            if uid is not None:
                direct.append((i, org, uid))
            else:
                for rank, (kind, name) in enumerate(principal_names(ev.raw)):
                    named.append((i, org, kind, name, rank))
                    mentioned.add((org, kind, name))
        facts = lifecycle_facts(ev.event_type, ev.raw)
        if facts is not None:
            lifecycle[(org, ev.raw["resource"]["id"])].append((ev.ts, ev.id, facts))
            for kind, name in facts["names"].items():
                mentioned.add((org, kind, name))
            for kind, pair in facts["renames"].items():
                mentioned.update((org, kind, n) for n in pair if n)
    links: list[list[Link]] = [[] for _ in new]
    if not (direct or named or lifecycle or renamed):
        return links
    refold = set(lifecycle) | renamed
    users = [{"organization": o, "id": i} for o, i in sorted(refold)]
    if users:  # lock order: users, then names, each sorted
        tx.run(_LOCK_USERS, batch={"users": users}, token=token).consume()
    identity: dict[Name, str] = {}  # name -> element id
    if mentioned:
        for rec in tx.run(_LOCK_IDENTITIES, batch={"names": _as_rows(mentioned)}, token=token):
            identity[(rec["organization"], rec["kind"], rec["name"])] = rec["node"]
    changed = _refold(tx, users, lifecycle) if users else set()
    extra = changed - mentioned
    if extra:
        tx.run(_LOCK_IDENTITIES, batch={"names": _as_rows(extra)}, token=token).consume()
    holders, holder_nodes = _relink(tx, changed, {(org, kind, name) for _, org, kind, name, _ in named})

    missing = sorted({(org, uid) for _, org, uid in direct if ("User", org, uid) not in node})
    users_by_id = {(org, uid): node[("User", org, uid)] for _, org, uid in direct if ("User", org, uid) in node}
    if missing:  # not one of the batch's entities (a sign-in's initiator always is): look the user up
        for rec in tx.run(_USER_NODES, batch={"users": [{"organization": o, "id": i} for o, i in missing]}):
            users_by_id[(rec["organization"], rec["id"])] = rec["node"]
    for i, org, uid in direct:
        if (org, uid) in users_by_id:
            links[i].append(("AUTHENTICATED_AS", users_by_id[(org, uid)], {"by": "id"}))
    ranked: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for i, org, kind, name, rank in sorted(named, key=lambda r: (r[0], r[4])):
        links[i].append(("NAMED", identity[(org, kind, name)], {"rank": rank}))
        ranked[i].append((kind, name))
    for i, names in ranked.items():
        org = new[i].organization
        found = resolve(new[i].ts, names, {(k, n): holders.get((org, k, n), []) for k, n in names})
        if found:
            uid, kind, name = found
            links[i].append(("AUTHENTICATED_AS", holder_nodes[(org, uid)], {"by": kind, "name": name}))
    return links


def _refold(tx: neo4j.ManagedTransaction, users: list[dict[str, str]],
            fresh: dict[tuple[str, str], list[tuple[int, str, dict[str, Any]]]]) -> set[Name]:
    """Rewrite the HELD_BY intervals of users whose history now folds differently (their stored lifecycle events
    and the batch's `fresh` ones, not stored yet); the names that changed."""
    changed: set[Name] = set()
    rewrite, rows = [], []
    for rec in tx.run(_USER_STATE, batch={"users": users}):
        org, uid = rec["organization"], rec["id"]
        facts = list(fresh.get((org, uid), ()))
        for ts, eid, etype, raw in rec["events"]:
            f = lifecycle_facts(etype, loads(raw))
            if f is not None:
                facts.append((ts, eid, f))
        held = fold_names(facts, {"username": rec["username"], "email": rec["email"]})
        stored = [Held(*h) for h in rec["held"]]
        if _key(held) == _key(stored):
            continue
        rewrite.append({"organization": org, "id": uid})
        changed |= {(org, h.kind, h.name) for h in [*held, *stored]}
        rows += [{"organization": org, "user": uid, "kind": h.kind, "name": h.name, "since": h.since,
                  "until": h.until, "by_event": h.by_event, "ended_by": h.ended_by} for h in held]
    if rewrite:
        tx.run(_DELETE_HELD, batch={"users": rewrite}).consume()
        rows.sort(key=lambda r: (r["organization"], r["kind"], r["name"], r["user"], r["since"]))
        if rows:
            tx.run(_CREATE_HELD, batch={"rows": rows}).consume()
    return changed


def _key(held: list[Held]) -> list[tuple[Any, ...]]:
    return sorted((h.kind, h.name, h.since, -1 if h.until is None else h.until, h.by_event or "", h.ended_by or "")
                  for h in held)


Holders = dict[Name, list[tuple[int, int | None, str]]]  # (since, until, user id)


def _relink(tx: neo4j.ManagedTransaction, names: set[Name],
            fresh: set[Name]) -> tuple[Holders, dict[tuple[str, str], str]]:
    """Resolve every stored sign-in NAMED with one of `names` (their history changed) against the current
    intervals and rewrite the links that differ; returns the holders of those names and of `fresh` (the names the
    batch's own sign-ins use), and the element ids of those users ((organization, id) -> element id)."""
    events = list(tx.run(_NAMED_EVENTS, batch={"names": _as_rows(names)})) if names else []
    all_names = {(e["organization"], k, n) for e in events for _, k, n in e["names"]} | fresh
    holders: Holders = defaultdict(list)
    ids: dict[tuple[str, str], str] = {}
    if not all_names:
        return holders, ids
    for h in tx.run(_HOLDERS, batch={"names": _as_rows(all_names)}):
        ids[(h["organization"], h["user"])] = h["node"]
        holders[(h["organization"], h["kind"], h["name"])].append((h["since"], h["until"], h["user"]))
    unlink, link = [], []
    for e in events:
        org = e["organization"]
        ranked = [(k, n) for _, k, n in sorted(e["names"])]
        scoped = {(k, n): holders.get((org, k, n), []) for k, n in ranked}
        found = resolve(e["ts"], ranked, scoped)
        want = [[found[0], found[1], found[2]]] if found else []
        if sorted(e["current"]) == want:
            continue
        if e["current"]:
            unlink.append({"organization": org, "event": e["id"]})
        if found:
            link.append({"organization": org, "event": e["id"], "user": found[0], "kind": found[1], "name": found[2]})
    if unlink:
        tx.run(_UNLINK, batch={"rows": unlink}).consume()
    if link:
        tx.run(_LINK, batch={"rows": link}).consume()
    return holders, ids
