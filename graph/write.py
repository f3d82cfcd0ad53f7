"""Writing a batch of events: one transaction holds the events, their entities and edges, and the recomputed
access intervals of every connection the batch touches, so the graph always agrees with the events it holds.

Idempotent by (organization, id): an event already present is counted as a duplicate and changes nothing.
Order-independent: entity names follow the newest event per property, and a connection's intervals are refolded
from all its events each time, under a lock on the connection (its :AccessPair node) so concurrent writers of the
same connection serialise instead of each seeing half the story.
"""

from __future__ import annotations

import uuid
import weakref
from collections import defaultdict
from typing import Any

import neo4j

from app.model.intervals import edge_for, fold
from app.model.entities import ENTITY_LABELS, NAME_PROPERTIES, KIND_PROPERTIES, normalise_ip
from app.model.events import Event, parse_event
from app.model.jsonutil import loads
from graph.db import Database
from graph.resolution import resolve_batch

NAME_KEYS = (*NAME_PROPERTIES, *KIND_PROPERTIES)  # what an entity node keeps, newest event first
EVENT_RELS = ("INITIATED_BY", "TARGETS", "ACCESSED", "ASSOC_FROM", "ASSOC_TO")

# Every statement of the write path takes its lists inside one map parameter, `$batch` (`UNWIND $batch.rows`), never
# as top-level lists. Neo4j keys its plan cache on each top-level parameter's type *and size bucket* (0, 1, up to 10,
# 100, 1,000, ...), so a statement fed 3 entities in one batch and 40 in the next was planned again per bucket:
# 0.3-2.5 s each under concurrent reads, the seconds-long first batches of bench/README.md ("the size buckets").
# A map's contents are not looked at: one plan per statement serves every batch, and the rehearsal warms them all.

_PRESENT = """
UNWIND $batch.keys AS k
MATCH (e:Event {organization: k.organization, id: k.id})
RETURN k.organization AS organization, k.id AS id
"""  # the cheap duplicate check: one index seek per event, no write, no lock

# Events are CREATEd (not MERGEd) after _PRESENT, each with its links in the same row: the entity and IP nodes
# were merged first and their element ids come along, so no statement re-seeks the events it just wrote. A
# concurrent writer storing the same event in between makes the event_key constraint refuse this transaction;
# write_batch then reruns it, and _PRESENT sees that event.
_WRITE_EVENTS = """
UNWIND $batch.rows AS r
CREATE (e:Event)
SET e = r.props, e.ingested = timestamp()
WITH e, r
CALL (e, r) {
  UNWIND r.links AS l
  MATCH (n) WHERE elementId(n) = l[1]
  CREATE (e)-[:$(l[0])]->(n)
}
CALL (e, r) {
  UNWIND r.plinks AS l
  MATCH (n) WHERE elementId(n) = l[1]
  CREATE (e)-[x:$(l[0])]->(n)
  SET x = l[2]
}
"""


def _entity_query(label: str) -> str:
    """MERGE a batch's entities of one label (one row each), keeping per name property the value of the newest
    event that carried it (`at` holds that event's order key per property). Each node is locked (written) before
    its `<name>_at` is read, so two writers of one entity cannot both compare with the old order key and leave the
    older name last. The label is whitelisted."""
    assert label in ENTITY_LABELS
    # A User's username and email feed its name history (graph/resolution.py): when this statement changes one, it
    # marks the node (the lock property holds the token plus RENAMED; inside the FOREACH: a read of n.username
    # before all the SETs would make the planner put a whole-batch Eager between them) and says so.
    def mark(k: str) -> str:
        if label != "User" or k not in ("username", "email"):
            return ""
        return (f" FOREACH (_ IN CASE WHEN coalesce(n.{k}, '') <> r.props.{k} THEN [1] ELSE [] END"
                " | SET n.lock = $token + $renamed)")

    sets = "\n".join(
        f"FOREACH (_ IN CASE WHEN r.at.{k} IS NOT NULL AND r.at.{k} >= coalesce(n.{k}_at, '') THEN [1] ELSE [] END"
        f" |{mark(k)} SET n.{k} = r.props.{k}, n.{k}_at = r.at.{k})"
        for k in NAME_KEYS
    )
    renamed = "n.lock = $token + $renamed" if label == "User" else "false"
    return f"""
UNWIND $batch.rows AS r
MERGE (n:{label} {{organization: r.organization, id: r.id}})
SET n.lock = $token
{sets}
RETURN r.organization AS organization, r.id AS id, elementId(n) AS node, {renamed} AS renamed
"""


_ENTITY_QUERIES = {label: _entity_query(label) for label in ENTITY_LABELS}
RENAMED = ":renamed"  # appended to the lock token on a User whose username or email this transaction changed

_IP_NODES = """
UNWIND $batch.rows AS r
MERGE (ip:IPAddress {organization: r.organization, address: r.address})
RETURN r.organization AS organization, r.address AS address, elementId(ip) AS node
"""

_ORG_QUERY = """
UNWIND $batch.orgs AS o
MERGE (n:Organization {organization: o, id: o})
"""

_LOCK_PAIRS = """
UNWIND $batch.pairs AS p
MERGE (a:AccessPair {organization: p.organization, key: p.key})
SET a.lock = $token
"""

_PAIR_EVENTS = """
UNWIND $batch.pairs AS p
MATCH (e:Event {organization: p.organization, assoc_pair: p.key})
WITH p, e ORDER BY e.ts, e.id
WITH p, collect(e) AS evs
RETURN p.organization AS organization, p.key AS key,
       [x IN evs | [x.ts, x.id, x.assoc_op]] AS events, evs[0].raw AS first
"""


def _delete_intervals(rel: str) -> str:
    return f"""
UNWIND $batch.pairs AS p
MATCH ()-[r:{rel} {{pair: p.key}}]->() WHERE r.organization = p.organization
DELETE r
"""


def _create_intervals(rel: str, src: str, dst: str) -> str:
    assert src in ENTITY_LABELS and dst in ENTITY_LABELS
    return f"""
UNWIND $batch.rows AS i
MATCH (a:{src} {{organization: i.organization, id: i.src}})
MATCH (b:{dst} {{organization: i.organization, id: i.dst}})
CREATE (a)-[:{rel} {{organization: i.organization, pair: i.pair, since: i.since, until: i.until,
                     granted_by_event: i.granted_by, revoked_by_event: i.revoked_by}}]->(b)
"""


def _order(ev: Event) -> str:
    return f"{ev.ts:015d}{ev.id}"


def _write(tx: neo4j.ManagedTransaction, events: list[Event], known_orgs: set[str]) -> list[tuple[str, str]]:
    token = uuid.uuid4().hex
    pairs = sorted({(ev.organization, pair) for ev in events if (pair := ev.node_properties().get("assoc_pair"))})
    pair_rows = [{"organization": o, "key": k} for o, k in pairs]
    if pair_rows:  # lock first, in a fixed order, so two writers of one connection take turns
        tx.run(_LOCK_PAIRS, batch={"pairs": pair_rows}, token=token).consume()
    keys = [{"organization": ev.organization, "id": ev.id} for ev in events]
    present = {(r["organization"], r["id"]) for r in tx.run(_PRESENT, batch={"keys": keys})}
    new = [ev for ev in events if (ev.organization, ev.id) not in present]
    if not new:
        return []

    entities: dict[tuple[str, str, str], dict[str, Any]] = {}  # (label, org, id) -> one row for the batch
    links: list[list[tuple[str, tuple[str, str, str]]]] = []  # per new event: (type, node key)
    ips: set[tuple[str, str]] = set()
    for ev in new:
        refs = [(ev.initiator, "INITIATED_BY"), (ev.target, "TARGETS")]
        refs += [(ref, "ACCESSED") for ref in ev.accessed]
        conn = ev.connection
        if conn is not None:
            refs += [(conn.a, "ASSOC_FROM"), (conn.b, "ASSOC_TO")]
        order = _order(ev)
        mine: list[tuple[str, tuple[str, str, str]]] = []
        for ref, rel in refs:
            if ref is None:
                continue
            key = (ref.label, ev.organization, ref.id)
            row = entities.setdefault(key, {"organization": ev.organization, "id": ref.id, "props": {}, "at": {}})
            for k, v in ref.props.items():
                if k in NAME_KEYS and v is not None and order >= row["at"].get(k, ""):
                    row["props"][k], row["at"][k] = v, order
            mine.append((rel, key))
        ip = ev.raw.get("client_ip")
        if isinstance(ip, str) and ip.strip():
            address = normalise_ip(ip)
            ips.add((ev.organization, address))
            mine.append(("FROM_IP", ("", ev.organization, address)))
        links.append(mine)
    orgs = sorted({ev.organization for ev in new} - known_orgs)
    if orgs:  # an organization this process has committed before exists (Organization nodes are never deleted)
        tx.run(_ORG_QUERY, batch={"orgs": orgs}).consume()
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (label, _, _), row in sorted(entities.items()):  # a fixed lock order across concurrent writers
        by_label[label].append(row)
    node: dict[tuple[str, str, str], str] = {}  # node key -> element id, valid inside this transaction
    renamed: set[tuple[str, str]] = set()  # users whose username or email this transaction changed
    for label in sorted(by_label):
        for rec in tx.run(_ENTITY_QUERIES[label], batch={"rows": by_label[label]}, token=token, renamed=RENAMED):
            node[(label, rec["organization"], rec["id"])] = rec["node"]
            if rec["renamed"]:
                renamed.add((rec["organization"], rec["id"]))
    if ips:
        for rec in tx.run(_IP_NODES, batch={"rows": [{"organization": o, "address": a} for o, a in sorted(ips)]}):
            node[("", rec["organization"], rec["address"])] = rec["node"]
    # Who each sign-in is (graph/resolution.py), before the events exist: its NAMED and AUTHENTICATED_AS links
    # are created with it below; stored sign-ins whose names' history changed are re-linked there.
    resolved = resolve_batch(tx, new, token, node, renamed)
    rows = [{"props": ev.node_properties(), "links": [(rel, node[key]) for rel, key in mine], "plinks": extra}
            for ev, mine, extra in zip(new, links, resolved)]
    tx.run(_WRITE_EVENTS, batch={"rows": rows}).consume()
    touched = sorted({(ev.organization, pair) for ev in new if (pair := ev.node_properties().get("assoc_pair"))})
    if touched:
        _refold(tx, [{"organization": o, "key": k} for o, k in touched])
    return [(ev.organization, ev.id) for ev in new]


def _refold(tx: neo4j.ManagedTransaction, pairs: list[dict[str, str]]) -> None:
    """Replace the interval edges of each pair with the ones its complete event history implies."""
    for rel in ("MEMBER_OF", "HAS_ACCESS_TO", "ASSOCIATED_WITH"):
        tx.run(_delete_intervals(rel), batch={"pairs": pairs}).consume()
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for rec in tx.run(_PAIR_EVENTS, batch={"pairs": pairs}):
        # The earliest event of the pair decides the direction where the types alone do not.
        conn = parse_event(loads(rec["first"])).connection
        edge = edge_for(conn) if conn is not None else None
        if edge is None:
            continue
        rel, src, dst = edge
        for iv in fold([tuple(x) for x in rec["events"]]):
            groups[(rel, src.label, dst.label)].append(
                {"organization": rec["organization"], "pair": rec["key"], "src": src.id, "dst": dst.id,
                 "since": iv.since, "until": iv.until, "granted_by": iv.granted_by, "revoked_by": iv.revoked_by}
            )
    for (rel, src, dst), rows in sorted(groups.items()):
        tx.run(_create_intervals(rel, src, dst), batch={"rows": rows}).consume()


_KNOWN_ORGS: "weakref.WeakKeyDictionary[Database, set[str]]" = weakref.WeakKeyDictionary()


def _known_organizations(db: Database) -> set[str]:
    """The organizations whose node this process committed through `db` (or found committed): write_batch
    skips their MERGE, a round trip per batch."""
    return _KNOWN_ORGS.setdefault(db, set())


_RACE_RETRIES = 100  # reruns after losing a race for an event to another writer (each loss is its progress)


def rehearse(db: Database, batches: list[list[Event]]) -> None:
    """Run each batch through the write transaction and roll it back, committing nothing.

    Neo4j plans every statement the first time it sees it, and its JVM compiles the write paths as they run: on a
    freshly started Neo4j the first real batches of an ingest took 10-26 s where later ones take 0.3 s (bench/
    README.md). A rehearsal pays that before any caller waits for it."""
    for events in batches:
        if events:
            db.rolled_back_tx(lambda tx: _write(tx, events, set()))


def write_batch(db: Database, events: list[Event]) -> set[tuple[str, str]]:
    """Write events in one transaction (retried whole on transient errors); returns the (org, id) newly stored.

    When a concurrent writer commits one of these events first, the event_key constraint refuses this
    transaction; it is rerun, and the rerun counts that event as a duplicate (each refusal means another writer
    made progress, so this ends)."""
    first: dict[tuple[str, str], Event] = {}
    for ev in events:
        first.setdefault((ev.organization, ev.id), ev)
    unique = list(first.values())
    if not unique:
        return set()
    known = _known_organizations(db)
    for attempt in range(_RACE_RETRIES, -1, -1):
        try:
            written = set(db.write_tx(lambda tx: _write(tx, unique, known)))
            known.update(ev.organization for ev in unique)  # committed: stored or already present
            return written
        except neo4j.exceptions.ConstraintError:
            if not attempt:
                raise
    raise AssertionError("unreachable")
