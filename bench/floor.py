"""The physical floor of the ingest benchmark: the same nodes and relationships written with plain CREATE into a
database with no constraints and no indexes, one transaction per batch.

What it leaves out, on purpose, to show what transactional writes cost here when nothing is checked: no duplicate
detection, no MERGE (an empty database and one writer: the Python side remembers the element id of every entity,
IP address and access pair it created, across batches), no locks, no name updates (an entity keeps the names of
the first event that mentioned it), no index entries to maintain. The identity graph is written as the baseline's
is (bench/identities.py, folded at the end), by element id. Node and relationship counts per label and type equal
the pipeline's, which the benchmark checks.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from identities import IdentityAside

F_NODES = """
UNWIND $rows AS r
CREATE (n:$(r.label))
SET n = r.props
RETURN r.i AS i, elementId(n) AS node
"""

F_EVENTS = """
UNWIND $rows AS r
CREATE (e:Event)
SET e = r.props
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
WITH e, r WHERE r.k IS NOT NULL
RETURN r.k AS k, elementId(e) AS node
"""

F_INTERVALS = """
UNWIND $rows AS i
MATCH (a) WHERE elementId(a) = i.src
MATCH (b) WHERE elementId(b) = i.dst
CREATE (a)-[r:$(i.rel)]->(b)
SET r = i.props
"""

NAME_KEYS = ("name", "username", "email", "hostname", "displayName", "display_label", "kind", "type")


class Floor:
    """Plain CREATE, no schema; the same interface as the benchmark's Baseline (add_batch, finish)."""

    def __init__(self, db: Any, batch_size: int) -> None:
        self.db, self.batch_size = db, batch_size
        self.node: dict[tuple[str, str, str], str] = {}  # (label, org, key) -> element id, for the whole run
        self.pair_events: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
        self.pair_first: dict[tuple[str, str], tuple[tuple[int, str], Any]] = {}
        self.ident = IdentityAside()
        self.written = 0
        self.db_seconds = 0.0

    def add_batch(self, evs: list[Any]) -> None:
        from app.model.entities import normalise_ip
        from app.model.intervals import edge_for

        fresh: dict[tuple[str, str, str], dict[str, Any]] = {}  # nodes this batch creates

        def want(key: tuple[str, str, str], props: dict[str, Any]) -> tuple[str, str, str]:
            if key not in self.node and key not in fresh:
                fresh[key] = props
            return key

        rows = []
        for ev in evs:
            props = ev.node_properties()
            org = ev.organization
            want(("Organization", org, org), {"organization": org, "id": org})
            order = f"{ev.ts:015d}{ev.id}"
            refs = [(ev.initiator, "INITIATED_BY"), (ev.target, "TARGETS")] + [(x, "ACCESSED") for x in ev.accessed]
            conn = ev.connection
            if conn is not None:
                refs += [(conn.a, "ASSOC_FROM"), (conn.b, "ASSOC_TO")]
                key = (org, props["assoc_pair"])
                want(("AccessPair", org, key[1]), {"organization": org, "key": key[1]})
                self.pair_events[key].append((ev.ts, ev.id, conn.op))
                first = self.pair_first.get(key)
                if first is None or (ev.ts, ev.id) < first[0]:
                    self.pair_first[key] = ((ev.ts, ev.id), edge_for(conn))
            links = []
            for ref, rel in refs:
                if ref is not None:
                    p = {"organization": org, "id": ref.id, **{k: v for k, v in ref.props.items() if v is not None}}
                    p.update({f"{k}_at": order for k in ref.props if k in NAME_KEYS})
                    links.append((rel, want((ref.label, org, ref.id), p)))
            ip = ev.raw.get("client_ip")
            if isinstance(ip, str) and ip.strip():
                address = normalise_ip(ip)
                links.append(("FROM_IP", want(("IPAddress", org, address), {"organization": org, "address": address})))
            plinks: list[tuple[str, tuple[str, str, str], dict[str, Any]]] = []
            names, uid = self.ident.add(ev)
            if uid is not None and (("User", org, uid) in self.node or ("User", org, uid) in fresh):
                plinks.append(("AUTHENTICATED_AS", ("User", org, uid), {"by": "id"}))
            for rank, kind, name in names:
                ident = want(("Identity", org, f"{kind}:{name}"), {"organization": org, "kind": kind, "name": name})
                plinks.append(("NAMED", ident, {"rank": rank}))
            k = None
            if names:
                k = len(self.ident.signins)
                self.ident.keep_signin(ev, names)
            rows.append((props, links, plinks, k))
        keys = list(fresh)
        node_rows = [{"i": i, "label": k[0], "props": fresh[k]} for i, k in enumerate(keys)]

        def work(tx: Any) -> None:
            if node_rows:
                for rec in tx.run(F_NODES, rows=node_rows):
                    self.node[keys[rec["i"]]] = rec["node"]
            for rec in tx.run(F_EVENTS, rows=[{"props": p, "links": [(rel, self.node[k]) for rel, k in links],
                                               "plinks": [(rel, self.node[k], x) for rel, k, x in plinks], "k": i}
                                              for p, links, plinks, i in rows]):
                handles[rec["k"]] = rec["node"]

        handles: dict[int, str] = {}

        t0 = time.perf_counter()
        self.db.write_tx(work)
        self.db_seconds += time.perf_counter() - t0
        self.written += len(evs)
        for k, node in handles.items():  # the sign-ins' element ids, for AUTHENTICATED_AS at the end
            org, eid, ts, names, _ = self.ident.signins[k]
            self.ident.signins[k] = (org, eid, ts, names, node)

    def finish(self) -> None:
        from app.model.intervals import fold

        rows = []
        for key, evs in self.pair_events.items():
            edge = self.pair_first[key][1]
            if edge is None:
                continue
            rel, src, dst = edge
            for iv in fold(evs):
                props = {"organization": key[0], "pair": key[1], "since": iv.since, "until": iv.until,
                         "granted_by_event": iv.granted_by, "revoked_by_event": iv.revoked_by}
                rows.append({"rel": rel, "src": self.node[(src.label, key[0], src.id)],
                             "dst": self.node[(dst.label, key[0], dst.id)],
                             "props": {k: v for k, v in props.items() if v is not None}})
        held = self.ident.held()
        missing = [(o, k, n) for o, k, n in self.ident.identities(held) if ("Identity", o, f"{k}:{n}") not in self.node]
        fresh = [{"i": i, "label": "Identity", "props": {"organization": o, "kind": k, "name": n}}
                 for i, (o, k, n) in enumerate(missing)]
        for h in held:
            props = {"organization": h["organization"], "since": h["since"], "until": h["until"],
                     "by_event": h["by_event"], "ended_by_event": h["ended_by"]}
            rows.append({"rel": "HELD_BY", "src": ("Identity", h["organization"], f"{h['kind']}:{h['name']}"),
                         "dst": self.node[("User", h["organization"], h["user"])],
                         "props": {k: v for k, v in props.items() if v is not None}})
        auth = [{"rel": "AUTHENTICATED_AS", "src": node, "dst": self.node[("User", org, u)],
                 "props": {"by": k, "name": n}} for (org, _, _, node), (u, k, n) in self.ident.resolved(held)]
        t0 = time.perf_counter()
        for i in range(0, len(fresh), self.batch_size):
            chunk = fresh[i:i + self.batch_size]
            for rec in self.db.write_tx(lambda tx, c=chunk: list(tx.run(F_NODES, rows=c))):
                p = chunk[rec["i"] - chunk[0]["i"]]["props"]
                self.node[("Identity", p["organization"], f"{p['kind']}:{p['name']}")] = rec["node"]
        for r in rows:
            if isinstance(r["src"], tuple):
                r["src"] = self.node[r["src"]]
        rows += auth
        for i in range(0, len(rows), self.batch_size):
            chunk = rows[i:i + self.batch_size]
            self.db.write_tx(lambda tx, c=chunk: tx.run(F_INTERVALS, rows=c).consume())
        self.db_seconds += time.perf_counter() - t0
