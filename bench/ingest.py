#!/usr/bin/env python3
"""Ingest benchmark: the real pipeline against a plain-Cypher baseline, same data, fresh Neo4j each time.

    python bench/ingest.py                       # 200,000 demo events
    python bench/ingest.py --events 1000000      # 1M

Starts its own managed Neo4j (graph.managed.ManagedNeo4j) in a temporary home on --port (default 7699), and for
every phase wipes the store and restarts it, so each phase writes into an empty database with the schema just
created. Each phase runs in a child Python process, so "peak RSS" is that phase's own high-water mark
(getrusage ru_maxrss), not the parent's. Phases:

  python    generate + parse + enrich + Event.properties(), no database: the Python ceiling.
  pipeline  app.ingest.Pipeline with an Enricher (GeoIP on a tiny .mmdb built here, or --geoip-db), exactly as
            `insightgraph demo` runs it: graph.write.write_batch, one transaction per batch.
  baseline  the same events, parsed, enriched and turned into the same properties, written by the plainest
            batched Cypher: UNWIND ... MERGE for events, entities, IPs, edges; the access intervals folded in
            Python from the association events kept aside and written once at the end.

Both write phases end with per-label and per-type counts, which must agree (printed side by side).
The Neo4j is stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.model.intervals import ACCESS_RELS  # noqa: E402
from app.model.events import ENTITY_LABELS  # noqa: E402
from identities import IdentityAside  # noqa: E402  (bench/identities.py)

EVENT_RELS = ("INITIATED_BY", "TARGETS", "ACCESSED", "FROM_IP", "ASSOC_FROM", "ASSOC_TO")
IDENTITY_RELS = ("HELD_BY", "NAMED", "AUTHENTICATED_AS")  # graph/resolution.py's
REL_TYPES = EVENT_RELS + ACCESS_RELS + IDENTITY_RELS
NODE_LABELS = ("Event", *ENTITY_LABELS, "IPAddress", "AccessPair", "Identity")


# ============================================================================================ the data ======
def events(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The demo stream, never materialised. With --drop-geoip, the vendor's geoip is removed from that share of
    the events that have a client_ip (chosen by a hash of the id, so every phase sees the same data), so the
    Enricher has real lookups to do; the demo's own events all carry geoip already."""
    from app.ingest.demo import generate

    cut = int(args.drop_geoip * 1000)
    for ev in generate(users=args.users, days=args.days, events=args.events, seed=args.seed,
                       organization=args.organization):
        if cut and "geoip" in ev and ev.get("client_ip") and zlib.crc32(ev["id"].encode()) % 1000 < cut:
            del ev["geoip"]
        yield ev


def build_mmdb(path: Path) -> Path:
    """A small GeoIP2-City database covering the demo's public /16 prefixes (as tests/test_enrich.py builds)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    from app.ingest.demo import _GEO

    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    for country, continent, region, region_name, tz, lat, lon, prefixes in _GEO.values():
        record = {
            "continent": {"code": continent, "names": {"en": continent}},
            "country": {"iso_code": country, "names": {"en": country}},
            "subdivisions": [{"iso_code": region, "names": {"en": region_name}}],
            "location": {"time_zone": tz, "latitude": lat, "longitude": lon},
        }
        writer.insert_network(IPSet([f"{p}.0.0/16" for p in prefixes]), record)
    writer.to_db_file(str(path))
    return path


# ======================================================================================= the baseline ======
B_EVENTS = """
UNWIND $rows AS r
MERGE (e:Event {organization: r.organization, id: r.id})
SET e += r.props
"""
B_ORGS = "UNWIND $orgs AS o MERGE (n:Organization {organization: o, id: o})"
B_PAIRS = "UNWIND $pairs AS p MERGE (a:AccessPair {organization: p.organization, key: p.key})"
B_IPS = """
UNWIND $rows AS r
MERGE (ip:IPAddress {organization: r.organization, address: r.address})
WITH ip, r
MATCH (e:Event {organization: r.organization, id: r.event})
MERGE (e)-[:FROM_IP]->(ip)
"""


B_NAMED = """
UNWIND $rows AS r
MERGE (i:Identity {organization: r.organization, kind: r.kind, name: r.name})
WITH i, r
MATCH (e:Event {organization: r.organization, id: r.event})
CREATE (e)-[:NAMED {rank: r.rank}]->(i)
"""
B_DIRECT = """
UNWIND $rows AS r
MATCH (e:Event {organization: r.organization, id: r.event})
MATCH (u:User {organization: r.organization, id: r.user})
CREATE (e)-[:AUTHENTICATED_AS {by: 'id'}]->(u)
"""
B_IDENTITIES = "UNWIND $rows AS r MERGE (:Identity {organization: r.organization, kind: r.kind, name: r.name})"
B_HELD = """
UNWIND $rows AS r
MATCH (u:User {organization: r.organization, id: r.user})
MATCH (i:Identity {organization: r.organization, kind: r.kind, name: r.name})
CREATE (i)-[:HELD_BY {organization: r.organization, since: r.since, until: r.until, by_event: r.by_event,
                      ended_by_event: r.ended_by}]->(u)
"""
B_AUTH = """
UNWIND $rows AS r
MATCH (e:Event {organization: r.organization, id: r.event})
MATCH (u:User {organization: r.organization, id: r.user})
CREATE (e)-[:AUTHENTICATED_AS {by: r.kind, name: r.name}]->(u)
"""


def b_entity(label: str, rel: str) -> str:
    return f"""
UNWIND $rows AS r
MERGE (n:{label} {{organization: r.organization, id: r.id}})
SET n += r.props
WITH n, r
MATCH (e:Event {{organization: r.organization, id: r.event}})
MERGE (e)-[:{rel}]->(n)
"""


def b_interval(rel: str, src: str, dst: str) -> str:
    return f"""
UNWIND $rows AS i
MATCH (a:{src} {{organization: i.organization, id: i.src}})
MATCH (b:{dst} {{organization: i.organization, id: i.dst}})
CREATE (a)-[:{rel} {{organization: i.organization, pair: i.pair, since: i.since, until: i.until,
                     granted_by_event: i.granted_by, revoked_by_event: i.revoked_by}}]->(b)
"""


class Baseline:
    """The plainest writer that yields the same nodes and edges. Single writer, empty database: no duplicate
    detection, no locks, no out-of-order name logic (a name simply takes the last write, with its `<name>_at`
    ordering property set alongside so the node properties match). Interval edges need a pair's whole history,
    so the association events' (ts, id, op) are kept aside (a few per user) and folded once at the end. Identity:
    each sign-in's NAMED edges (and AUTHENTICATED_AS when it names its user's id) are written with its batch; the
    users' name intervals (HELD_BY) and who each other sign-in was need all the events, so they are computed
    at the end (bench/identities.py) and written then."""

    NAME_KEYS = ("name", "username", "email", "hostname", "displayName", "display_label", "kind", "type")

    def __init__(self, db: Any, batch_size: int) -> None:
        self.db, self.batch_size = db, batch_size
        self.pair_events: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
        self.pair_first: dict[tuple[str, str], tuple[tuple[int, str], Any]] = {}
        self.ident = IdentityAside()
        self.written = 0
        self.db_seconds = 0.0

    def add_batch(self, evs: list[Any]) -> None:
        from app.model.intervals import edge_for

        rows, ips, pairs, named, direct = [], [], set(), [], []
        ents: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for ev in evs:
            props = ev.node_properties()
            rows.append({"organization": ev.organization, "id": ev.id, "props": props})
            order = f"{ev.ts:015d}{ev.id}"
            refs = [(ev.initiator, "INITIATED_BY"), (ev.target, "TARGETS")] + [(x, "ACCESSED") for x in ev.accessed]
            conn = ev.connection
            if conn is not None:
                refs += [(conn.a, "ASSOC_FROM"), (conn.b, "ASSOC_TO")]
                key = (ev.organization, props["assoc_pair"])
                pairs.add(key)
                self.pair_events[key].append((ev.ts, ev.id, conn.op))
                first = self.pair_first.get(key)
                if first is None or (ev.ts, ev.id) < first[0]:
                    self.pair_first[key] = ((ev.ts, ev.id), edge_for(conn))
            for ref, rel in refs:
                if ref is not None:
                    p = dict(ref.props)
                    p.update({f"{k}_at": order for k in ref.props if k in self.NAME_KEYS})
                    ents[(ref.label, rel)].append({"organization": ev.organization, "id": ref.id, "props": p,
                                                   "event": ev.id})
            ip = ev.raw.get("client_ip")
            if isinstance(ip, str) and ip:
                ips.append({"organization": ev.organization, "address": ip.strip().lower(), "event": ev.id})
            names, uid = self.ident.add(ev)
            if uid is not None:
                direct.append({"organization": ev.organization, "event": ev.id, "user": uid})
            if names:
                self.ident.keep_signin(ev, names)
                named += [{"organization": ev.organization, "event": ev.id, "kind": k, "name": n, "rank": rank}
                          for rank, k, n in names]
        orgs = sorted({ev.organization for ev in evs})

        def work(tx: Any) -> None:
            tx.run(B_EVENTS, rows=rows).consume()
            tx.run(B_ORGS, orgs=orgs).consume()
            if pairs:
                tx.run(B_PAIRS, pairs=[{"organization": o, "key": k} for o, k in sorted(pairs)]).consume()
            for (label, rel), erows in sorted(ents.items()):
                tx.run(b_entity(label, rel), rows=erows).consume()
            if ips:
                tx.run(B_IPS, rows=ips).consume()
            if named:
                tx.run(B_NAMED, rows=named).consume()
            if direct:
                tx.run(B_DIRECT, rows=direct).consume()

        t0 = time.perf_counter()
        self.db.write_tx(work)
        self.db_seconds += time.perf_counter() - t0
        self.written += len(evs)

    def finish(self) -> None:
        from app.model.intervals import fold

        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for key, evs in self.pair_events.items():
            edge = self.pair_first[key][1]
            if edge is None:
                continue
            rel, src, dst = edge
            for iv in fold(evs):
                groups[(rel, src.label, dst.label)].append(
                    {"organization": key[0], "pair": key[1], "src": src.id, "dst": dst.id, "since": iv.since,
                     "until": iv.until, "granted_by": iv.granted_by, "revoked_by": iv.revoked_by})
        t0 = time.perf_counter()
        for (rel, src, dst), rows in sorted(groups.items()):
            for i in range(0, len(rows), self.batch_size):
                chunk = rows[i:i + self.batch_size]
                self.db.write_tx(lambda tx, q=b_interval(rel, src, dst), c=chunk: tx.run(q, rows=c).consume())
        held = self.ident.held()
        auth = [{"organization": org, "event": eid, "user": u, "kind": k, "name": n}
                for (org, eid, _, _), (u, k, n) in self.ident.resolved(held)]
        names = [{"organization": o, "kind": k, "name": n} for o, k, n in self.ident.identities(held)]
        for query, rows in ((B_IDENTITIES, names), (B_HELD, held), (B_AUTH, auth)):
            for i in range(0, len(rows), self.batch_size):
                self.db.write_tx(lambda tx, q=query, c=rows[i:i + self.batch_size]: tx.run(q, rows=c).consume())
        self.db_seconds += time.perf_counter() - t0


# ======================================================================================= child phases ======
class _TimedTx:
    """Wraps a transaction so each statement's time (run + fetching its result) is attributed to a short name."""

    def __init__(self, tx: Any, acc: dict[str, list[float]]) -> None:
        self.tx, self.acc = tx, acc

    def run(self, query: str, **params: Any) -> Any:
        t0 = time.perf_counter()
        records = list(self.tx.run(query, **params))
        slot = self.acc.setdefault(_query_name(query), [0.0, 0])
        slot[0] += time.perf_counter() - t0
        slot[1] += 1
        return _Done(records)


class _Done(list):
    def consume(self) -> None:
        return None

    def single(self, strict: bool = False) -> Any:
        return self[0] if self else None


def _query_name(query: str) -> str:
    """A short name for a statement of graph/ingest.py or of the baseline, for the per-statement table."""
    text = " ".join(ln.strip() for ln in query.strip().splitlines())
    named = (("CREATE (e:Event", "events + links"), ("CREATE (i)-[:HELD_BY", "identity: HELD_BY create"),
             ("CREATE (e)-[:NAMED", "identity: NAMED (seek)"),
             ("CREATE (e)-[:AUTHENTICATED_AS {by: 'id'}", "identity: AUTH by id (seek)"),
             ("CREATE (e)-[:AUTHENTICATED_AS {by: r.kind", "identity: AUTH by name (seek)"),
             ("WHERE NOT EXISTS { (u)<-[:HELD_BY]", "identity: unknown names"),
             ("MATCH (n:User {organization: u.", "identity: user locks"),
             ("MERGE (n:Identity", "identity: identity locks"), ("MERGE (:Identity", "identity: nodes"),
             ("COLLECT { MATCH (u)<-[:TARGETS]", "identity: user state"), ("DELETE h", "identity: HELD_BY delete"),
             ("<-[:NAMED]-(e) WITH DISTINCT", "identity: named events"),
             ("-[h:HELD_BY]->(u:User) RETURN", "identity: holders"),
             ("-[a:AUTHENTICATED_AS]->() DELETE", "identity: unlink"), ("MATCH (e:Event {organization: k.", "duplicate check"),
             ("CALL () { UNWIND $orgs", "nodes (org, entities, ips)"), ("MERGE (e:Event", "events"), ("MERGE (n:Organization {organization: o", "organizations"),
             ("MERGE (a:AccessPair", "pair locks"), ("MATCH (e:Event {organization: p.", "pair events (refold read)"),
             ("MERGE (ip:IPAddress", "ip addresses + links"), ("MERGE (:IPAddress", "ip addresses"),
             ("CREATE (e)-[:FROM_IP]", "ip links"))
    for needle, name in named:
        if needle in text:
            return name
    rel = text.split("]->(n)", 1)[0].rsplit("[:", 1)[-1] if "]->(n)" in text else None
    if "MERGE (n:" in text:
        label = text.split("MERGE (n:", 1)[1].split(" ", 1)[0]
        return f"entity {label}/{rel}" if rel else f"entities {label}"
    if "MATCH (n:" in text and rel:
        return f"links {text.split('MATCH (n:', 1)[1].split(' ', 1)[0]}/{rel}"
    if "CREATE (a)-[:" in text:
        return "create intervals " + text.split("CREATE (a)-[:", 1)[1].split(" ", 1)[0]
    if "MATCH ()-[r:" in text:
        return "delete intervals " + text.split("MATCH ()-[r:", 1)[1].split(" ", 1)[0]
    return text[:40]


def _write_batch_at(rev: str) -> Any:
    """graph.write.write_batch as it is now, or (phase `pipeline@REV`) as graph/write.py and graph/resolution.py
    (the identity statements it calls) were at a git revision, loaded against today's other modules: an A/B of the
    write path in one run, on the same data."""
    if not rev:
        from graph.write import write_batch

        return write_batch
    import types

    def load(path: str, name: str) -> Any:
        source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, text=True,
                                stdout=subprocess.PIPE).stdout
        module = types.ModuleType(name)
        exec(compile(source, f"{rev}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own history
        return module

    import graph.resolution

    has_resolution = subprocess.run(["git", "cat-file", "-e", f"{rev}:graph/resolution.py"], cwd=ROOT).returncode == 0
    try:  # write.py of REV imports `graph.resolution` of REV (when it had one)
        if has_resolution:
            sys.modules["graph.resolution"] = load("graph/resolution.py", "graph.resolution")
        return load("graph/write.py", f"graph_write_at_{rev}").write_batch
    finally:
        sys.modules["graph.resolution"] = graph.resolution


# The f_* search keys some graph/ statement reads by name (activity, investigations, fragments, principals); +fmin
# keeps only these, +f0 none: bench-only variants measuring what the other f_* properties cost at ingest.
READ_BY_NAME = ("f_initiated_by_username", "f_username", "f_initiated_by_email", "f_client_ip",
                "f_geoip_country_code", "f_success", "f_changes_field")


def fields_only(which: str) -> None:
    from app.model import fields

    keep = {"min": READ_BY_NAME, "0": ()}[which]
    fields._INDEXED = tuple(f for f in fields._INDEXED if f.prop in keep)
    fields._EXACT_PATHS = frozenset(p for f in fields._INDEXED for p in f.paths)


def child(args: argparse.Namespace) -> dict[str, Any]:
    from app.ingest.enrich import Enricher
    from app.model.events import parse_event
    from app.ingest.records import Record

    enricher = Enricher(args.geoip_db)
    n = 0
    out: dict[str, Any] = {"phase": args.child}
    # e.g. pipeline+b5000: batches of 5,000; +w2: two concurrent writers; +s500: sys.setswitchinterval(500 us)
    args.child, *options = args.child.split("+")
    writers = 1
    drop_indexes: list[str] = []
    ip_index = False
    for o in options:
        if o[:1] == "b":
            args.batch_size = int(o[1:])
        elif o[:1] == "w":
            writers = int(o[1:])
        elif o[:1] == "s":
            sys.setswitchinterval(int(o[1:]) / 1e6)  # process-wide: this child runs one phase
        elif o[:1] == "x":
            drop_indexes.append(o[1:])
        elif o[:1] == "f":
            fields_only(o[1:])
        elif o == "ipidx":
            ip_index = True
        # +cKEY=VALUE and +hSIZE configure the phase's Neo4j: the parent applies them (neo4j_options)
    statements: dict[str, list[float]] = {}
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()

    if args.child == "python":
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        for ev in events(args):
            e = parse_event(ev)
            enricher.enrich(e.raw)
            e.node_properties()
            n += 1
        elapsed = time.perf_counter() - t0
        if profiler:
            profiler.disable()
    else:
        from graph.db import Database
        from graph.constraints import ensure_schema

        db = Database(args.uri)
        db.verify()
        if args.child != "floor":  # the floor writes into a database without constraints or indexes
            ensure_schema(db)
            for name in drop_indexes:  # +xNAME: the phase runs without that index (bench-only variant)
                db.write(f"DROP INDEX {name}")
            if ip_index:  # +ipidx: Event (organization, ip_key), as an IP-as-a-property model would need
                db.write("CREATE INDEX event_ip IF NOT EXISTS FOR (e:Event) ON (e.organization, e.ip_key)")
            db.write("CALL db.awaitIndexes(300)")
        if args.child.split("@")[0] == "pipeline":
            import app.ingest.pipeline as app_ingest
            from app.ingest import Pipeline

            write_batch = _write_batch_at(args.child.partition("@")[2])

            db_time = [0.0]
            if args.statements:
                real_write_tx = db.write_tx
                db.write_tx = lambda fn: real_write_tx(lambda tx: fn(_TimedTx(tx, statements)))  # type: ignore

            def timed_write_batch(database: Any, evs: list[Any]) -> Any:
                t = time.perf_counter()
                try:
                    return write_batch(database, evs)
                finally:
                    db_time[0] += time.perf_counter() - t

            app_ingest.write_batch = timed_write_batch  # instrumentation only: time spent in the writer
            records = (Record(f"demo event {i}", ev) for i, ev in enumerate(events(args), start=1))
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            pipeline = Pipeline(db, enricher, args.batch_size, writers=writers)
            summary = pipeline.run(records)
            elapsed = time.perf_counter() - t0
            if profiler:
                profiler.disable()
            n = summary.total
            out.update(accepted=summary.accepted, duplicates=summary.duplicates, rejected=len(summary.rejected),
                       db_seconds=db_time[0])
        else:
            from floor import Floor

            base = (Floor if args.child == "floor" else Baseline)(db, args.batch_size)
            if args.statements:
                real_write_tx = db.write_tx
                db.write_tx = lambda fn: real_write_tx(lambda tx: fn(_TimedTx(tx, statements)))  # type: ignore
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            batch: list[Any] = []
            for ev in events(args):
                e = parse_event(ev)
                enricher.enrich(e.raw)
                e.node_properties()
                batch.append(e)
                if len(batch) >= args.batch_size:
                    base.add_batch(batch)
                    batch = []
            if batch:
                base.add_batch(batch)
            base.finish()
            elapsed = time.perf_counter() - t0
            if profiler:
                profiler.disable()
            n = base.written
            out.update(accepted=n, db_seconds=base.db_seconds)
        out["counts"] = counts(db)
        db.close()
    if profiler:
        path = f"{args.profile}.{args.child}.prof"
        profiler.dump_stats(path)
        out["profile"] = path
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out.update(events=n, seconds=elapsed, rate=n / elapsed if elapsed else 0.0,
               cpu_seconds=ru.ru_utime + ru.ru_stime, peak_rss_mb=ru.ru_maxrss / 1024, statements=statements)
    return out


def counts(db: Any) -> dict[str, int]:
    """Per-label and per-type counts (each a count-store lookup, cheap at any size)."""
    out = {}
    for label in NODE_LABELS:
        out[f":{label}"] = db.read(f"MATCH (n:{label}) RETURN count(n) AS c")[0]["c"]
    for rel in REL_TYPES:
        out[f"[:{rel}]"] = db.read(f"MATCH ()-[r:{rel}]->() RETURN count(r) AS c")[0]["c"]
    return out


# ============================================================================================ parent ======
def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _reuse_jars(home: Path) -> None:
    """Link the Neo4j jars from an already-installed home (INSIGHTGRAPH_HOME, ~/.insightgraph) when one has
    resolved the same pom, instead of running Maven again; otherwise ManagedNeo4j.install() resolves them."""
    from graph.managed import LAUNCHER_DIR

    pom = (LAUNCHER_DIR / "pom.xml").read_text()
    candidates = [os.environ.get("INSIGHTGRAPH_HOME"), str(Path.home() / ".insightgraph"),
                  str(ROOT / ".insightgraph-test")]
    for c in filter(None, candidates):
        lib = Path(c) / "neo4j" / "lib"
        marker = lib / ".resolved"
        if marker.exists() and marker.read_text() == pom:
            (home / "neo4j").mkdir(parents=True, exist_ok=True)
            (home / "neo4j" / "lib").symlink_to(lib.resolve(), target_is_directory=True)
            return


def _rss_of(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _busy_jiffies() -> int:
    """All CPUs' non-idle time so far (clock ticks), from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    return sum(parts) - parts[3] - (parts[4] if len(parts) > 4 else 0)  # minus idle and iowait


def _proc_jiffies(pid: int | None) -> int:
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _store_mb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
            except OSError:
                pass
    return total / 2**20


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def neo4j_options(phase: str, heap: str) -> tuple[dict[str, str], str]:
    """A phase's Neo4j settings (`+cKEY=VALUE`, each a neo4j.conf line) and JVM heap (`+hSIZE`, else `heap`)."""
    settings: dict[str, str] = {}
    for o in phase.split("+")[1:]:
        if o[:1] == "c":
            key, sep, value = o[1:].partition("=")
            if not sep or not key:
                sys.exit(f"phase {phase!r}: +c takes KEY=VALUE, e.g. +cdb.tx_state.memory_allocation=OFF_HEAP")
            settings[key] = value
        elif o[:1] == "h":
            heap = o[1:]
    return settings, heap


def run_phase(args: argparse.Namespace, phase: str, uri: str | None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", phase]
    for key in ("events", "users", "days", "seed", "organization", "batch_size", "drop_geoip"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if args.geoip_db:
        cmd += ["--geoip-db", str(args.geoip_db)]
    if uri:
        cmd += ["--uri", uri]
    if args.profile:
        cmd += ["--profile", args.profile]
    if args.statements:
        cmd += ["--statements"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"phase {phase} failed (exit {proc.returncode}); see its output above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parent(args: argparse.Namespace) -> int:
    from graph.managed import ManagedNeo4j

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    for p in phases:
        if p.split("+")[0].split("@")[0] not in ("python", "pipeline", "baseline", "floor"):
            sys.exit(f"unknown phase {p!r}: use python, pipeline, pipeline@REV, baseline, floor, "
                     "each optionally +bN (batch size N), +wN (N writer threads), +sN (switch interval N us), "
                     "+cKEY=VALUE (a neo4j.conf setting), +hSIZE (Neo4j heap), +xINDEX (without that index), "
                     "+fmin / +f0 (fewer f_* properties), +ipidx (an Event (organization, ip_key) index)")
        neo4j_options(p, args.heap)
    if any(p != "python" for p in phases) and not _port_free(args.port):
        sys.exit(f"port {args.port} is taken: pass --port with a free one")
    tmp = Path(tempfile.mkdtemp(prefix="insightgraph-bench-")) if args.home is None else args.home
    tmp.mkdir(parents=True, exist_ok=True)
    home = tmp / "home"
    if args.geoip_db is None:
        args.geoip_db = build_mmdb(tmp / "bench-city.mmdb")
    if not (home / "neo4j" / "lib").exists():
        _reuse_jars(home)
    m = ManagedNeo4j(home, args.port, args.heap, args.pagecache)
    results: list[dict[str, Any]] = []
    try:  # a private module of the driver: only for the header line
        from neo4j._codec.packstream import v1 as packstream

        packer = "Rust extension (neo4j-rust-ext)" if packstream._rust_pack else "pure Python"
    except (ImportError, AttributeError):
        packer = "unknown"
    print(f"# {args.events:,} demo events (users={args.users}, days={args.days}, seed={args.seed}), batch "
          f"{args.batch_size}, geoip db {args.geoip_db}, drop-geoip {args.drop_geoip}; Neo4j heap {args.heap}, "
          f"pagecache {args.pagecache}, port {args.port}; home {tmp}; driver packstream: {packer}; "
          f"{os.cpu_count()} CPUs", flush=True)

    def on_signal(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        for phase in phases:
            uri = None
            if phase != "python":
                m.stop()
                shutil.rmtree(m.dir / "data", ignore_errors=True)  # a fresh, empty DBMS for every phase
                m.settings, m.heap = neo4j_options(phase, args.heap)
                t0 = time.perf_counter()
                m.start()
                print(f"# {phase}: fresh Neo4j up in {time.perf_counter() - t0:.1f}s (pid {m.pid()})", flush=True)
                uri = m.uri
            hz, ncpu = os.sysconf("SC_CLK_TCK"), os.cpu_count() or 1
            busy0, jvm0, kids0 = _busy_jiffies(), _proc_jiffies(m.pid()), _children_cpu()
            t0 = time.perf_counter()
            res = run_phase(args, phase, uri)
            wall = time.perf_counter() - t0
            mine = (_proc_jiffies(m.pid()) - jvm0) / hz + (_children_cpu() - kids0)
            res["other_cpu"] = max(0.0, (_busy_jiffies() - busy0) / hz - mine) / (wall * ncpu)
            res["jvm_cpu"] = (_proc_jiffies(m.pid()) - jvm0) / hz if uri else None
            if phase != "python":
                res["neo4j_rss_mb"] = _rss_of(m.pid())
                m.stop()  # checkpoint, so the store size below is what this phase wrote
                res["store_mb"] = _store_mb(m.dir / "data" / "data")
            results.append(res)
            print(f"# {phase}: {res['events']:,} events in {res['seconds']:.1f}s = {res['rate']:,.0f} events/s, "
                  f"peak RSS {res['peak_rss_mb']:.0f} MB; CPU: python {res['cpu_seconds']:.0f}s, neo4j "
                  f"{res['jvm_cpu'] or 0:.0f}s, other processes {100 * res['other_cpu']:.0f}% of the machine",
                  flush=True)
    finally:
        m.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, args)
    return 0 if _ok(results) else 1


def _ok(results: list[dict[str, Any]]) -> bool:
    written = [r["counts"] for r in results if "counts" in r]
    return all(c == written[0] for c in written) and all(r.get("rejected", 0) == 0 for r in results)


def _cpu_per_event(r: dict[str, Any]) -> float:
    """CPU microseconds per event spent by the phase's Python process and its Neo4j together."""
    return 1e6 * (r["cpu_seconds"] + (r.get("jvm_cpu") or 0.0)) / max(r["events"], 1)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    by = {r["phase"]: r for r in results}
    print()
    print(f"{'phase':<10} {'events':>10} {'seconds':>8} {'events/s':>9} {'db s':>7} {'py s':>7} {'peak RSS':>9} "
          f"{'neo4j RSS':>9} {'store':>8} {'others':>6} {'CPU us/ev':>9}")
    for r in results:
        db_s = r.get("db_seconds")
        db_txt = "-" if db_s is None else f"{db_s:.1f}"
        py_txt = f"{r['seconds'] - (db_s or 0.0):.1f}"
        jvm = f"{r['neo4j_rss_mb']:.0f}MB" if r.get("neo4j_rss_mb") else "-"
        store = f"{r['store_mb']:.0f}MB" if r.get("store_mb") else "-"
        print(f"{r['phase']:<10} {r['events']:>10,} {r['seconds']:>8.1f} {r['rate']:>9,.0f} {db_txt:>7} {py_txt:>7} "
              f"{r['peak_rss_mb']:>7.0f}MB {jvm:>9} {store:>8} {100 * r.get('other_cpu', 0):>5.0f}% "
              f"{_cpu_per_event(r):>9.0f}")
    print()
    for r in results:
        if r["phase"] != "python":
            print(f"{r['phase']}: CPU per event {_cpu_per_event(r):.0f} us = python "
                  f"{1e6 * r['cpu_seconds'] / max(r['events'], 1):.0f} + neo4j "
                  f"{1e6 * (r.get('jvm_cpu') or 0.0) / max(r['events'], 1):.0f}")
    for ref in ("baseline", "floor"):
        if ref not in by:
            continue
        for r in results:
            name = r["phase"]
            if name.split("+")[0].split("@")[0] == "pipeline":
                ratio = r["rate"] / by[ref]["rate"]
                cpu_ratio = _cpu_per_event(by[ref]) / _cpu_per_event(r)
                print(f"{name} / {ref} = {ratio:.2f}x by wall time" + ("   (target >= 0.90x)" if ref == "baseline"
                      else "") + f"; {cpu_ratio:.2f}x by CPU per event (python + neo4j)")
    if "pipeline" in by:
        p = by["pipeline"]
        print(f"pipeline {p['rate']:,.0f} events/s (target >= 10,000), peak RSS {p['peak_rss_mb']:.0f} MB "
              f"(target < 300 MB at 1M); accepted {p['accepted']:,}, duplicates {p['duplicates']:,}, "
              f"rejected {p['rejected']:,}")
    writes = [r for r in results if "counts" in r]
    if len(writes) > 1:
        same = all(r["counts"] == writes[0]["counts"] for r in writes)
        print(f"same nodes and edges in every store: {'yes' if same else 'NO'}")
        print("  " + " " * 18 + "".join(f"{r['phase']:>11}" for r in writes))
        for k in writes[0]["counts"]:
            values = [r["counts"].get(k, 0) for r in writes]
            if any(values):
                print(f"  {k:<18}" + "".join(f"{v:>11,}" for v in values)
                      + ("" if len(set(values)) == 1 else "   <-- differs"))
    for r in results:
        if r.get("statements"):
            total = sum(v[0] for v in r["statements"].values())
            print(f"\n{r['phase']}: time per statement (run + fetch), {total:.1f}s in all")
            for name, (sec, calls) in sorted(r["statements"].items(), key=lambda kv: -kv[1][0])[:14]:
                print(f"  {name:<34} {sec:>7.1f}s {100 * sec / total:>5.1f}%  {calls:>6} calls")
        if r.get("profile"):
            import pstats

            print(f"\n{r['phase']}: cProfile ({r['profile']}), top functions by own time")
            pstats.Stats(r["profile"]).sort_stats("tottime").print_stats(12)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--users", type=int, default=500, help="demo org size")
    ap.add_argument("--days", type=int, default=90, help="demo history length")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--organization", default="5f00000000000000000be7c4")
    ap.add_argument("--batch-size", type=int, default=1000, help="events per transaction (the ingest default)")
    ap.add_argument("--geoip-db", type=Path, help="a GeoIP2 City/Country .mmdb (default: a tiny one built here)")
    ap.add_argument("--drop-geoip", type=float, default=0.25,
                    help="share of events with a client_ip whose vendor geoip is removed, so the Enricher looks "
                         "them up")
    ap.add_argument("--phases", default="python,pipeline,baseline,floor",
                    help="comma-separated, run in this order; pipeline@REV writes with graph/write.py of a git "
                         "revision (an A/B in the same run); after a phase +bN: batches of N, +wN: N concurrent "
                         "writers (pipeline), +sN: sys.setswitchinterval(N microseconds), +cKEY=VALUE: a neo4j.conf "
                         "setting for this phase's Neo4j (e.g. +cdb.tx_state.memory_allocation=OFF_HEAP), +hSIZE: "
                         "its heap; bench-only model variants: +xINDEX: drop that index before writing, +fmin: "
                         "store only the f_* keys graph/ reads by name, +f0: none, +ipidx: index Event "
                         "(organization, ip_key)")
    ap.add_argument("--port", type=int, default=7699, help="Bolt port of the bench's own Neo4j")
    ap.add_argument("--heap", default="2g", help="Neo4j JVM heap")
    ap.add_argument("--pagecache", default="2g", help="Neo4j page cache")
    ap.add_argument("--home", type=Path, help="work directory (default: a new temp dir, removed afterwards)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (store, logs, mmdb)")
    ap.add_argument("--statements", action="store_true", help="time every Cypher statement (small overhead)")
    ap.add_argument("--profile", metavar="PREFIX", help="cProfile each phase into PREFIX.<phase>.prof")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--uri", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.events < 0 or not 0 <= args.drop_geoip <= 1:
        ap.error("--events must be >= 0 and --drop-geoip within [0, 1]")
    if args.child:
        print(json.dumps(child(args)), flush=True)
        return 0
    try:
        return parent(args)
    except KeyboardInterrupt:
        print("interrupted; Neo4j stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
