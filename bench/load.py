"""Load test: a bounded mix of concurrent clients against a real `insightgraph serve` on loopback while an ingest
writes, for a fixed time; then (with --outage) the same with Neo4j stopped for a while in the middle.

Reuses bench/query.py's store (`--home`, `--port`: build it first with `python bench/query.py --build-only`) and
its query mix. Reports requests/s, p50/p99 per kind, errors per kind, the server's peak RSS, and for the ingest:
events sent, events stored (counted in Neo4j at the end: nothing may be missing) and the events each subscriber
saw (all of them too: a subscriber resumes after an outage, and is given time to catch up when the writes end).
Numbers are printed, never asserted; the exit status is 1 when anything was lost or an unexpected error occurred.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import query as qb  # noqa: E402  (bench/query.py: the store, the servers, the query mix)

GQL_KINDS = ["page", "count", "lifecycle", "access", "accessPath", "accessHistory"]  # filters and traversals
OUTAGE_OK = {503}  # what a client may see while Neo4j is away


@dataclass
class Stats:
    """Latencies (ms) and outcomes of one request kind; appended from several threads (list.append is atomic)."""

    ok: list[float] = field(default_factory=list)
    unavailable: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Recorder:
    def __init__(self) -> None:
        self.kinds: dict[str, Stats] = defaultdict(Stats)
        # (when answered, kind, answered without error) for the outage report: by the answer's time, so a request
        # sent while Neo4j was down and answered (or stopped by its budget) after it was back counts as after
        self.timeline: list[tuple[float, str, bool]] = []

    def add(self, kind: str, t0: float, ms: float, status: int, error: str | None = None) -> None:
        s = self.kinds[kind]
        if error is None and status == 200:
            s.ok.append(ms)
        elif status in OUTAGE_OK:
            s.unavailable.append(ms)
        else:
            s.errors.append(error or f"HTTP {status}")
        self.timeline.append((t0 + ms / 1000, kind, error is None and status == 200))


def pct(xs: list[float], q: float) -> float:
    return qb.pct(xs, q) if xs else float("nan")


# ------------------------------------------------------------------------------------------------ the clients ---
def graphql_client(url: str, secret: str, p: qb.Params, stop: threading.Event, rec: Recorder, offset: int) -> None:
    """Loops over the GraphQL mix (one kind after the other, starting at `offset`) until stopped."""
    import httpx

    bodies = [(k, json.dumps({"query": qb.GQL[k], "variables": qb.gql_variables(k, p)}).encode()) for k in GQL_KINDS]
    hdrs = {"x-api-key": secret, "content-type": "application/json"}
    i = offset
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            kind, body = bodies[i % len(bodies)]
            i += 1
            t0 = time.monotonic()
            status = 0
            try:
                r = client.post(url, content=body, headers=hdrs)
                ms, status, err = (time.monotonic() - t0) * 1000, r.status_code, None
                if status == 200 and r.json().get("errors"):
                    err = json.dumps(r.json()["errors"])[:300]
                rec.add(kind, t0, ms, status, err)
            except httpx.HTTPError as exc:
                rec.add(kind, t0, (time.monotonic() - t0) * 1000, 0, f"{type(exc).__name__}: {exc}"[:300])
            if status in OUTAGE_OK:
                time.sleep(0.05)  # a 503: a client backs off a little rather than spin


def rest_client(base: str, secret: str, p: qb.Params, stop: threading.Event, rec: Recorder, limit: int) -> None:
    """Pages through /events (DESC, search_after) `limit` events at a time, each body read to the end."""
    import httpx

    url = f"{base}/insights/directory/v1/events"
    hdrs = {"x-api-key": secret, "content-type": "application/json"}
    after: Any = None
    with httpx.Client(timeout=120) as client:
        while not stop.is_set():
            body = {"service": ["all"], "start_time": qb.iso(p.lo), "end_time": qb.iso(p.hi + 1), "limit": limit,
                    "sort": "DESC", **({"search_after": after} if after else {})}
            t0 = time.monotonic()
            status = 0
            try:
                with client.stream("POST", url, content=json.dumps(body).encode(), headers=hdrs) as r:
                    n = sum(len(c) for c in r.iter_raw())
                    ms = (time.monotonic() - t0) * 1000
                    if r.status_code == 200 and n:
                        count = int(r.headers.get("X-Result-Count", "0"))
                        after = json.loads(r.headers["X-Search_after"]) if count == limit else None
                    status = r.status_code
                    rec.add(f"rest{limit}", t0, ms, status)
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                rec.add(f"rest{limit}", t0, (time.monotonic() - t0) * 1000, 0, f"{type(exc).__name__}: {exc}"[:300])
            if status in OUTAGE_OK:
                time.sleep(0.05)


def subscriber(ws_url: str, secret: str, stop: threading.Event, seen: set[str], rec: Recorder,
               ended: list[str]) -> None:
    """eventAdded over graphql-transport-ws for the ingest's organization; reconnects when the stream ends, resuming
    after the last event it received (`resumeAfter`), so an outage costs it no event."""
    from websockets.sync.client import connect

    query = "subscription($after: ID) { eventAdded(resumeAfter: $after) { id } }"
    last: str | None = None
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10,
                         additional_headers={"x-api-key": secret}) as ws:
                ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                ack = json.loads(ws.recv(timeout=10))
                if ack.get("type") != "connection_ack":
                    raise RuntimeError(f"no ack: {ack}")
                ws.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": query, "variables": {"after": last}}}))
                rec.add("subscribe", t0, (time.monotonic() - t0) * 1000, 200)
                while not stop.is_set():
                    try:
                        msg = json.loads(ws.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    if msg.get("type") == "next" and msg["payload"].get("data"):
                        last = msg["payload"]["data"]["eventAdded"]["id"]
                        seen.add(last)
                    elif msg.get("type") in ("error", "complete") or msg.get("payload", {}).get("errors"):
                        ended.append(json.dumps(msg)[:300])  # said why (Neo4j away, fell behind, ...): reconnect
                        rec.add("subscription ended", time.monotonic(), 0, 503)
                        break
        except Exception as exc:  # refused while Neo4j is away, or the server closed the socket
            rec.add("subscribe", t0, (time.monotonic() - t0) * 1000, 503, None)
            if not stop.is_set():
                time.sleep(0.5)
            del exc


def ingester(base: str, secret: str, org: str, stop: threading.Event, rec: Recorder, rate: float, batch: int,
             sent: list[str], seed: int) -> None:
    """POSTs demo events for `org` at about `rate` events/s in batches; a failed batch is retried until stored
    (safe: stored events count as duplicates), so every generated event must end up in Neo4j."""
    import httpx

    from app.ingest.demo import generate

    gen = generate(users=50, days=5, events=1_000_000, seed=seed, organization=org)
    hdrs = {"x-api-key": secret, "content-type": "application/x-ndjson"}
    with httpx.Client(timeout=120) as client:
        started = time.monotonic()
        while not stop.is_set():
            events = [next(gen) for _ in range(batch)]
            body = b"\n".join(json.dumps(ev).encode() for ev in events)
            while True:
                t0 = time.monotonic()
                try:
                    r = client.post(f"{base}/insights/directory/v1/ingest", content=body, headers=hdrs)
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                rec.add("ingest", t0, (time.monotonic() - t0) * 1000, status,
                        None if status in (200, 503) else f"HTTP {status}")
                if status == 200:
                    out = r.json()
                    if out["rejected"]:
                        rec.kinds["ingest"].errors.append(f"rejected: {out['rejected'][:2]}")
                    break
                time.sleep(0.5)  # Neo4j away: retry the same batch
            sent.extend(ev["id"] for ev in events)
            ahead = len(sent) / rate - (time.monotonic() - started)
            if ahead > 0:
                stop.wait(ahead)


def warm_up(args: argparse.Namespace, p: qb.Params, secret: str) -> None:
    """Every kind a few times, one at a time, untimed: a freshly started Neo4j has a cold page cache."""
    import httpx

    qb.log(f"warm-up: {args.warmup} sequential rounds of every kind")
    base = f"http://127.0.0.1:{args.http_port}"
    with httpx.Client(timeout=300) as client:
        calls = [qb.gql_call(client, f"{base}/graphql", qb.GQL[k], qb.gql_variables(k, p), {"x-api-key": secret})
                 for k in GQL_KINDS]
        body = {"service": ["all"], "start_time": qb.iso(p.lo), "end_time": qb.iso(p.hi + 1),
                "limit": args.rest_limit, "sort": "DESC"}
        for _ in range(args.warmup):
            for call in calls:
                call()
            client.post(f"{base}/insights/directory/v1/events", json=body, headers={"x-api-key": secret}).read()


# ------------------------------------------------------------------------------------------------- one phase ---
def phase_keys(db: Any, bench_org: str, made: list[str]) -> dict[str, str]:
    """A read key for the bench organization; a fresh organization for the phase's ingest, with an ingest key
    and a read key for its subscribers."""
    from graph.keys import create_key

    keys = {"org": uuid.uuid4().hex[:24]}
    for name, orgs, scope in (("read", [bench_org], "read"), ("sub", [keys["org"]], "read"),
                              ("ingest", [keys["org"]], "ingest")):
        k, keys[name] = create_key(db, orgs, scope, f"bench/load.py {name}")
        made.append(k.id)
    return keys


def run_phase(args: argparse.Namespace, neo: Any, db: Any, p: qb.Params, server_pid: int, keys: dict[str, str],
              outage: bool) -> dict[str, Any]:
    base = f"http://127.0.0.1:{args.http_port}"
    rec, stop, sent = Recorder(), threading.Event(), []  # type: ignore[var-annotated]
    ended: list[str] = []
    threads = [threading.Thread(target=graphql_client, args=(f"{base}/graphql", keys["read"], p, stop, rec, i),
                                daemon=True) for i in range(args.clients)]
    threads += [threading.Thread(target=rest_client, args=(base, keys["read"], p, stop, rec, args.rest_limit),
                                 daemon=True) for _ in range(args.rest_clients)]
    sub_stop = threading.Event()  # subscribers outlive the writers: they must catch up with the last batch
    seen_by: list[set[str]] = [set() for _ in range(args.subscribers)]  # each subscriber must see every event
    subs = [threading.Thread(target=subscriber, args=(f"ws://127.0.0.1:{args.http_port}/graphql", keys["sub"],
                                                      sub_stop, seen, rec, ended), daemon=True)
            for seen in seen_by]
    ingest = threading.Thread(target=ingester, args=(base, keys["ingest"], keys["org"], stop, rec, args.ingest_rate,
                                                     args.ingest_batch, sent, args.seed + (7 if outage else 3)),
                              daemon=True)
    sampler = qb.RssSampler(server_pid, every=0.05)
    rss_before = sampler.rss()
    sampler.start()
    cpu0 = os.times()
    t_start = time.monotonic()
    for t in [*threads, *subs, ingest]:
        t.start()
    down: dict[str, float] = {}
    if outage:
        stop.wait(args.duration / 3)
        qb.log(f"outage: stopping Neo4j for {args.outage_seconds:.0f} s")
        down["stop"] = time.monotonic()
        neo.stop()
        down["stopped"] = time.monotonic()
        time.sleep(args.outage_seconds)
        down["start"] = time.monotonic()
        neo.start()
        down["started"] = time.monotonic()
        qb.log(f"outage: Neo4j back after {down['started'] - down['stop']:.1f} s")
        remaining = args.duration - (time.monotonic() - t_start)
        stop.wait(max(remaining, 15))
    else:
        stop.wait(args.duration)
    stop.set()
    wall = time.monotonic() - t_start
    for t in threads:
        t.join(30)
    ingest.join(120)
    caught_up = time.monotonic()
    while not all(set(sent) <= seen for seen in seen_by) and time.monotonic() - caught_up < 15:
        time.sleep(0.1)  # the last batch reaches the subscribers a poll (and, after an outage, a reconnect) later
    caught_up = time.monotonic() - caught_up
    sub_stop.set()
    for t in subs:
        t.join(30)
    peak = sampler.stop()
    cpu1 = os.times()
    stored = db.read("MATCH (e:Event) WHERE e.organization = $org AND e.id IN $ids RETURN count(e) AS n",
                     org=keys["org"], ids=sent)[0]["n"]
    out: dict[str, Any] = {"wall_s": wall, "rss_before": rss_before, "rss_peak": peak, "vm_hwm": qb.vm_hwm(server_pid),
                           "sent": len(sent), "stored": stored, "seen": min((len(seen & set(sent)) for seen in seen_by), default=0), "ended": ended[:5],
                           "caught_up_s": caught_up,
                           "bench_cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), "kinds": {}}
    for kind, s in sorted(rec.kinds.items()):
        out["kinds"][kind] = {"ok": len(s.ok), "p50": pct(s.ok, 0.5), "p99": pct(s.ok, 0.99),
                              "unavailable": len(s.unavailable),
                              "unavailable_p50": pct(s.unavailable, 0.5), "unavailable_max":
                                  max(s.unavailable) if s.unavailable else float("nan"),
                              "errors": len(s.errors), "first_errors": s.errors[:3]}
    if outage:
        after = [t for t, k, ok in rec.timeline if ok and k in GQL_KINDS and t >= down["started"]]
        failed = [t for t, k, ok in rec.timeline if not ok and k in GQL_KINDS]  # 503s, and errors such as a budget
        out["outage"] = {"neo4j_down_s": down["started"] - down["stop"], "outage_s": args.outage_seconds,
                         "first_ok_after_restart_s": (min(after) - down["started"]) if after else None,
                         "last_failure_after_restart_s": (max(failed) - down["started"]) if failed else None}
    return out


def report(name: str, r: dict[str, Any]) -> str:
    lines = [f"## {name}: {r['wall_s']:.0f} s, server RSS {r['rss_before'] / 2**20:.0f} MiB before, peak "
             f"{r['rss_peak'] / 2**20:.0f} MiB (VmHWM {r['vm_hwm'] / 2**20:.0f} MiB)", "",
             "| kind | ok | req/s | p50 ms | p99 ms | 503s | 503 p50 / max ms | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total = 0
    for kind, k in r["kinds"].items():
        total += k["ok"]
        lines.append(f"| {kind} | {k['ok']} | {k['ok'] / r['wall_s']:.1f} | {k['p50']:.1f} | {k['p99']:.1f} | "
                     f"{k['unavailable']} | {k['unavailable_p50']:.1f} / {k['unavailable_max']:.1f} | {k['errors']} |")
    lines.append(f"| **all** | {total} | {total / r['wall_s']:.1f} | | | | | "
                 f"{sum(k['errors'] for k in r['kinds'].values())} |")
    lines.append("")
    lines.append(f"ingest: {r['sent']:,} events sent, {r['stored']:,} stored, {r['sent'] - r['stored']} missing; "
                 f"the subscriber that saw fewest saw {r['seen']:,} of them, "
                 f"{r['caught_up_s']:.1f} s after the last was stored")
    if "outage" in r:
        o = r["outage"]
        first, last = o["first_ok_after_restart_s"], o["last_failure_after_restart_s"]
        lines.append(f"outage: Neo4j unavailable for {o['neo4j_down_s']:.1f} s (stop, {o['outage_s']:.0f} s down, "
                     f"start); first GraphQL success "
                     + (f"{first:.1f} s after it was back" if first is not None else "never") + "; "
                     + (f"last GraphQL failure {last:.1f} s after it was back" if last is not None and last > 0
                        else "no GraphQL failure after it was back"))
    for why in r["ended"]:
        lines.append(f"  a subscription ended: {why}")
    for kind, k in r["kinds"].items():
        for e in k["first_errors"]:
            lines.append(f"  error ({kind}): {e}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/tmp/insightgraph-bench"))
    ap.add_argument("--port", type=int, default=7700)
    ap.add_argument("--heap", default="4g")
    ap.add_argument("--pagecache", default="4g")
    ap.add_argument("--http-port", type=int, default=8767)
    ap.add_argument("--duration", type=float, default=60, help="seconds per phase")
    ap.add_argument("--clients", type=int, default=8, help="concurrent GraphQL clients")
    ap.add_argument("--rest-clients", type=int, default=1)
    ap.add_argument("--rest-limit", type=int, default=1000, help="events per REST page")
    ap.add_argument("--subscribers", type=int, default=2)
    ap.add_argument("--ingest-rate", type=float, default=100, help="events/s written while the clients read")
    ap.add_argument("--ingest-batch", type=int, default=50)
    ap.add_argument("--outage-seconds", type=float, default=10)
    ap.add_argument("--phases", default="steady,outage")
    ap.add_argument("--warmup", type=int, default=3, help="untimed sequential rounds of every kind first")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--neo4j-setting", action="append", default=[], metavar="KEY=VALUE",
                    help="a neo4j.conf setting for the bench's Neo4j (repeatable)")
    args = ap.parse_args(argv)
    args.users, args.days, args.organization, args.serve_python, args.serve_repo = \
        500, 90, "5f0000000000000000000001", sys.executable, HERE.parent

    from graph.db import Database
    from graph.keys import revoke_key
    from graph.managed import ManagedNeo4j

    neo = ManagedNeo4j(args.home, args.port, args.heap, args.pagecache,
                       settings=dict(kv.split("=", 1) for kv in args.neo4j_setting))
    procs: list[Any] = []
    made: list[str] = []
    db = None
    try:
        neo.start()
        db = Database(neo.uri, None, None, 120.0)
        rows = db.read("MATCH (d:BenchDataset {id: 'query-bench'}) RETURN d.complete AS c, d.events AS n")
        if not rows or not rows[0]["c"]:
            raise SystemExit(f"error: no complete bench store in {args.home}; run bench/query.py --build-only first")
        qb.log(f"store: {rows[0]['n']:,} events; picking parameters")
        p = qb.pick_params(db, args.organization)
        server = qb.start_insightgraph(args, neo, procs)
        warm_up(args, p, phase_keys(db, args.organization, made)["read"])
        results = {}
        for phase in args.phases.split(","):
            qb.log(f"phase {phase}: {args.duration:.0f} s, {args.clients} GraphQL + {args.rest_clients} REST "
                   f"clients, {args.subscribers} subscribers, ingest {args.ingest_rate:.0f} events/s; load "
                   f"{os.getloadavg()[0]:.1f}")
            keys = phase_keys(db, args.organization, made)
            results[phase] = run_phase(args, neo, db, p, server.pid, keys, phase == "outage")
            results[phase]["load_after"] = os.getloadavg()
            print(report(phase, results[phase]), flush=True)
            print(f"load average after: {' '.join(f'{x:.1f}' for x in results[phase]['load_after'])}\n", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
        bad = any(r["sent"] != r["stored"] or (args.subscribers and r["seen"] != r["sent"])
                  or any(k["errors"] for k in r["kinds"].values())
                  for r in results.values())
        return 1 if bad else 0
    finally:
        for proc in procs:
            qb.stop_process(proc)
        if db is not None:
            try:
                for key_id in made:
                    revoke_key(db, key_id)
            finally:
                db.close()
        neo.stop()


if __name__ == "__main__":
    sys.exit(main())
