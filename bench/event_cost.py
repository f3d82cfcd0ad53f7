#!/usr/bin/env python3
"""Neo4j CPU per Event node: what each index entry, the f_* properties and the IP node + FROM_IP edge cost.

    python bench/event_cost.py --port 7743 --events 20000 --rounds 3

One fresh managed Neo4j; each variant writes the same demo events (parsed, enriched, `Event.properties()`) in
batches of 1,000 under its own label (`EvV<n>`) with its own indexes, so the variants share one JVM and interleave
round by round (each round's order rotated by one), after one uncounted warm-up round. Measured: the JVM's CPU (utime + stime from /proc) per event while that variant's transactions
run; the best (lowest) round is printed, beside the median. No entities, identities or intervals: only what the
variant changes (IP nodes are per variant: `IpV<n>`, merged once per batch as graph/write.py does), so the differences are the cost of that index / those properties / that edge.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INDEXES = {  # graph/constraints.py's Event indexes, per variant label
    "org_ts": "(e.organization, e.ts)", "org_ingested": "(e.organization, e.ingested)",
    "pair": "(e.organization, e.assoc_pair)", "initiator_username": "(e.f_initiated_by_username)",
    "username": "(e.f_username)", "type": "(e.event_type)",
}
SECONDARY = ("org_ingested", "initiator_username", "username", "type")
READ_BY_NAME = ("f_initiated_by_username", "f_username", "f_initiated_by_email", "f_client_ip",
                "f_geoip_country_code", "f_success", "f_changes_field")

EVENTS = """
UNWIND $rows AS r
CREATE (e:{label})
SET e = r.props, e.ingested = timestamp()
"""
EVENTS_IP = """
UNWIND $rows AS r
CREATE (e:{label})
SET e = r.props, e.ingested = timestamp()
WITH e, r WHERE r.ip IS NOT NULL
MATCH (n) WHERE elementId(n) = r.ip
CREATE (e)-[:FROM_IP]->(n)
"""
IPS = """
UNWIND $rows AS r
MERGE (ip:{label} {{organization: r.organization, address: r.address}})
RETURN r.address AS address, elementId(ip) AS node
"""


def variants() -> list[tuple[str, tuple[str, ...], str, bool]]:
    """(name, indexes, properties: all|min|none, ip node + edge)."""
    full = tuple(INDEXES)
    out = [("today: 6 indexes + key, all f_*, IP node + edge", full, "all", True),
           ("without IP node + edge (ip_key property only)", full, "all", False),
           ("without IP node + edge, + (organization, ip_key) index", full + ("ip",), "all", False),
           ("without the 4 secondary indexes", tuple(i for i in full if i not in SECONDARY), "all", True)]
    out += [(f"without event_{i}", tuple(x for x in full if x != i), "all", True) for i in SECONDARY]
    out += [("only the 7 f_* keys graph/ reads by name", full, "min", True),
            ("no f_* keys", full, "none", True)]
    return out


def jvm_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=7743)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args()

    from app.ingest.demo import generate
    from app.ingest.enrich import Enricher
    from app.model.entities import normalise_ip
    from app.model.events import parse_event
    from graph.db import Database
    from graph.managed import ManagedNeo4j
    from ingest import _reuse_jars, build_mmdb  # bench/ingest.py

    tmp = Path(tempfile.mkdtemp(prefix="insightgraph-evcost-"))
    enricher = Enricher(build_mmdb(tmp / "city.mmdb"))
    evs = []
    for raw in generate(users=500, days=90, events=args.events, seed=1, organization="5f00000000000000000be7c4"):
        if "geoip" in raw and raw.get("client_ip") and zlib.crc32(raw["id"].encode()) % 1000 < 250:
            del raw["geoip"]
        e = parse_event(raw)
        enricher.enrich(e.raw)
        evs.append(e)
    props = {"all": [e.properties() for e in evs]}
    props["min"] = [{k: v for k, v in p.items() if not k.startswith("f_") or k in READ_BY_NAME} for p in props["all"]]
    props["none"] = [{k: v for k, v in p.items() if not k.startswith("f_")} for p in props["all"]]
    ips = [normalise_ip(e.raw["client_ip"]) if isinstance(e.raw.get("client_ip"), str) and e.raw["client_ip"].strip()
           else None for e in evs]
    n_props = {k: sum(map(len, v)) / len(v) for k, v in props.items()}

    home = tmp / "home"
    _reuse_jars(home)
    m = ManagedNeo4j(home, args.port)
    m.start()
    db = Database(m.uri)
    vs = variants()
    cpu: dict[int, list[float]] = {i: [] for i in range(len(vs))}
    try:
        for i, (_, idx, _, _) in enumerate(vs):
            db.write(f"CREATE CONSTRAINT ev{i}_key FOR (e:EvV{i}) REQUIRE (e.organization, e.id) IS UNIQUE")
            db.write(f"CREATE CONSTRAINT ip{i}_key FOR (n:IpV{i}) REQUIRE (n.organization, n.address) IS UNIQUE")
            for name in idx:
                on = "(e.organization, e.ip_key)" if name == "ip" else INDEXES[name]
                db.write(f"CREATE INDEX ev{i}_{name} FOR (e:EvV{i}) ON {on}")
        db.write("CALL db.awaitIndexes(300)")
        for rnd in range(args.rounds + 1):
            order = list(range(len(vs)))
            order = order[rnd % len(vs):] + order[:rnd % len(vs)]  # rotated: no variant always follows the same one
            for i in order:
                _, _, which, ip = vs[i]
                # every round writes new nodes of the variant's label: the round's events get distinct ids
                rows_all = [{**p, "id": f"{p['id']}#{rnd}"} for p in props[which]]
                t0, c0 = time.perf_counter(), jvm_cpu(m.pid())
                for s in range(0, len(rows_all), args.batch_size):
                    chunk = rows_all[s:s + args.batch_size]
                    addrs = ips[s:s + args.batch_size]

                    def work(tx, chunk=chunk, addrs=addrs, i=i):
                        if ip:
                            wanted = sorted({(p["organization"], a) for p, a in zip(chunk, addrs) if a})
                            node = {r["address"]: r["node"] for r in tx.run(
                                IPS.format(label=f"IpV{i}"), rows=[{"organization": o, "address": a} for o, a in wanted])}
                            rows = [{"props": p, "ip": node.get(a) if a else None} for p, a in zip(chunk, addrs)]
                            tx.run(EVENTS_IP.format(label=f"EvV{i}"), rows=rows).consume()
                        else:
                            tx.run(EVENTS.format(label=f"EvV{i}"), rows=[{"props": p} for p in chunk]).consume()

                    db.write_tx(work)
                if rnd == 0:  # the JVM's warm-up round (JIT): not counted
                    continue
                cpu[i].append(1e6 * (jvm_cpu(m.pid()) - c0) / len(rows_all))
                print(f"round {rnd} {vs[i][0]:<58} {cpu[i][-1]:6.0f} us/event neo4j CPU, "
                      f"{len(rows_all) / (time.perf_counter() - t0):6,.0f} events/s", flush=True)
    finally:
        db.close()
        m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{args.events:,} events x {args.rounds} rounds; properties per event: all {n_props['all']:.1f}, "
          f"min {n_props['min']:.1f}, none {n_props['none']:.1f}")
    base = min(cpu[0])
    print(f"{'variant':<58} {'best':>6} {'median':>7} {'vs today (best)':>16}")
    for i, (name, *_rest) in enumerate(vs):
        print(f"{name:<58} {min(cpu[i]):6.0f} {statistics.median(cpu[i]):7.0f} {min(cpu[i]) - base:+16.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
