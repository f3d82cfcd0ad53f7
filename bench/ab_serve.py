"""A/B of two checkouts' `serve` on one store: both servers up at once on the same Neo4j, one client alternating
between them request by request (the order flipped every round, so neither always goes first), answers compared
once. Prints each query's p50 for both and the ratio. Run a kept query-bench store first, e.g.

    python bench/query.py --events 200000 --home /tmp/ig-qb-200k --port 7718 --only trivial --runs 1 --keep
    python bench/ab_serve.py --base /work/wt/base --uri bolt://127.0.0.1:7718 --rounds 200

The queries and their parameters are bench/query.py's (GQL), on the same users.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import query as qb  # noqa: E402
from graph.db import Database  # noqa: E402
from graph.keys import create_key, revoke_key  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the checkout to compare against")
    ap.add_argument("--now", default=str(HERE.parent), help="the checkout under test (default: this one)")
    ap.add_argument("--uri", default="bolt://127.0.0.1:7718", help="the kept bench store's Bolt URI")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=10, help="first rounds left out of the medians")
    args = ap.parse_args()
    db = Database(args.uri, auth=None)
    org = db.read("MATCH (o:Organization) RETURN o.id AS id")[0]["id"]

    def user(name: str) -> str:
        return db.read("MATCH (u:User {organization: $org, username: $n}) RETURN u.id AS id", org=org, n=name)[0]["id"]
    rid = db.read("MATCH (s:System {organization: $org, hostname: 'build-02'}) RETURN s.id AS id", org=org)[0]["id"]
    t, week, month = "2026-10-14T02:56:38.000Z", "2026-10-07T02:56:38.000Z", "2026-09-14T02:56:38.000Z"
    uid = user("jsingh")
    variables = {
        "trivial": {}, "page": {"filter": {"eventTypes": qb.AUTH_TYPES, "success": False, "from": week, "to": t}},
        "lifecycle": {"uid": uid}, "access": {"uid": uid, "t": t}, "accessPath": {"uid": uid, "rid": rid, "t": t},
        "accessHistory": {"uid": uid, "from": month, "to": t}, "accessWide": {"uid": user("chughes"), "t": t},
    }
    key, secret = create_key(db, [org], "read", "bench/ab_serve.py")
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name, repo, port in (("base", args.base, 8801), ("now", args.now, 8802)):
            env = {**os.environ, "INSIGHTGRAPH_NEO4J_URI": args.uri, "INSIGHTGRAPH_HOME": f"/tmp/ab-serve-{name}",
                   "PYTHONPATH": repo, "INSIGHTGRAPH_LOG_LEVEL": "WARNING"}
            servers[name] = (subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                                              cwd=repo, env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL), port)
        client = httpx.Client(timeout=60)
        for _, port in servers.values():
            for _ in range(200):
                try:
                    if client.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
        times: dict[tuple[str, str], list[float]] = {}
        for i in range(args.rounds):
            for q, var in variables.items():
                order = list(servers.items()) if i % 2 == 0 else list(servers.items())[::-1]
                answers = {}
                for name, (_, port) in order:
                    t0 = time.perf_counter()
                    r = client.post(f"http://127.0.0.1:{port}/graphql", json={"query": qb.GQL[q], "variables": var},
                                    headers={"x-api-key": secret})
                    times.setdefault((q, name), []).append((time.perf_counter() - t0) * 1000)
                    if r.status_code != 200 or "errors" in r.json():
                        raise SystemExit(f"{name} {q}: {r.status_code} {r.text[:300]}")
                    answers[name] = r.json()
                if i == 0 and answers["base"] != answers["now"]:
                    raise SystemExit(f"{q}: the two servers answer differently")
        print(f"{args.rounds} rounds, p50 ms (first {args.warmup} left out), load average "
              f"{os.getloadavg()[0]:.2f}")
        for q in variables:
            b, n = (statistics.median(times[(q, s)][args.warmup:]) for s in ("base", "now"))
            print(f"{q:14} base {b:7.2f}  now {n:7.2f}  {n / b:.2f}x")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
        for proc, _ in servers.values():
            proc.wait(20)
        revoke_key(db, key.id)
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
