#!/usr/bin/env python3
"""Sync benchmark: `insightgraph sync` from a local Directory Insights API against `insightgraph ingest` of the
same events from a file, into the configured Neo4j (INSIGHTGRAPH_* as for any command; the managed one by default).

    python bench/sync.py                          # 3 rounds of 30,000 demo events each way
    python bench/sync.py --events 100000 --rounds 2

One demo history is generated; each round writes it as JSON lines for `ingest` under one new organization, and
serves the same events re-homed to a second new organization from the vendor-like server of
tests/vendor_api.py (in this process, on a loopback port, 10,000-event pages, answers precomputed) for
`sync --source http://127.0.0.1:PORT --org ORG --since 3650d`. Both commands run as child processes exactly as a
user runs them; the time is wall clock from start to exit (imports, connecting, schema check included). The order
alternates between rounds so a database that grows during the run favours neither; the CPU time of each command's
own process (not Neo4j's) is reported per event as well, a number the other tenants of a shared machine disturb
far less than wall time; a first round with a tenth
of the events warms Neo4j up and is not counted. Each phase must store all N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.ingest.demo import generate  # noqa: E402
from app.bootstrap import open_database  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.vendor_api import Serving, VendorAPI  # noqa: E402

KEY = "bench-key"


def count(db, org: str) -> int:
    return db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=org)[0]["n"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the command's own process, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--days", type=int, default=60)
    args = ap.parse_args()

    settings = Settings()
    db = open_database(settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INSIGHTGRAPH_SYNC_API_KEY": KEY}
    rates: dict[str, list[float]] = {"ingest": [], "sync": []}
    cpus: dict[str, list[float]] = {"ingest": [], "sync": []}  # the command's own CPU per event (not Neo4j's)
    api = VendorAPI({KEY: []})
    history = list(generate(users=args.users, days=args.days, events=args.events, seed=100))
    with Serving(api.app) as source, tempfile.TemporaryDirectory() as tmp:
        for rnd in range(-1, args.rounds):  # round 0 is a warm-up (a tenth of the events), not counted
            n_events = max(1, args.events // 10) if rnd < 0 else args.events
            ingest_org, sync_org = uuid.uuid4().hex[:24], uuid.uuid4().hex[:24]
            path = Path(tmp) / f"round{rnd}.jsonl"
            with open(path, "w") as f:
                for ev in history[:n_events]:
                    f.write(json.dumps({**ev, "organization": ingest_org}) + "\n")
            api.keys[KEY] = [sync_org]
            api.add([{**ev, "organization": sync_org} for ev in history[:n_events]])
            phases = {
                "ingest": ([sys.executable, "-m", "app.cli", "ingest", str(path)], ingest_org),
                "sync": ([sys.executable, "-m", "app.cli", "sync", "--source", source.url, "--org", sync_org,
                          "--since", "3650d"], sync_org),
            }
            order = ["ingest", "sync"] if rnd % 2 == 0 else ["sync", "ingest"]
            for name in order:
                cmd, org = phases[name]
                elapsed, cpu, out = timed(cmd, env)
                n = count(db, org)
                if n != n_events:
                    raise SystemExit(f"{name} stored {n} of {n_events} events: {out}")
                label = "warm-up" if rnd < 0 else f"round {rnd + 1}"
                if rnd >= 0:
                    rates[name].append(n_events / elapsed)
                    cpus[name].append(cpu * 1e6 / n_events)
                print(f"{label} {name:<6} {n_events} events in {elapsed:6.1f} s = "
                      f"{n_events / elapsed:7.0f} events/s; its process used {cpu:5.1f} s CPU = "
                      f"{cpu * 1e6 / n_events:5.0f} us/event", flush=True)
            api.events.pop(sync_org, None)
    db.close()
    ing, syn = statistics.median(rates["ingest"]), statistics.median(rates["sync"])
    print(f"median: ingest {ing:.0f} events/s, sync {syn:.0f} events/s, sync/ingest = {syn / ing:.2f}; "
          f"CPU of the command itself: ingest {statistics.median(cpus['ingest']):.0f} us/event, "
          f"sync {statistics.median(cpus['sync']):.0f} us/event")


if __name__ == "__main__":
    main()
