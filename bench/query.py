#!/usr/bin/env python3
"""Query benchmark: insightgraph over HTTP vs. hand-written Cypher (the floor) vs. @neo4j/graphql (the peer).

    python bench/query.py --events 200000                 # develop / quick look
    python bench/query.py --events 1000000 --runs 200     # the numbers in bench/README.md

What it does, in order:

1. A dedicated managed Neo4j (graph.managed.ManagedNeo4j) on --home (default /tmp/insightgraph-bench) and --port
   (default 7700), --heap/--pagecache 4g each. On first use it is loaded with --events demo events
   (app.ingest.demo.generate, --users/--days/--seed) through the normal ingest pipeline (app.ingest.Pipeline), with
   progress on stderr. A (:BenchDataset) node records the parameters once the load completed; later runs with the
   same parameters reuse the store, other parameters are refused (use another --home, or --rebuild). An
   interrupted load resumes (the pipeline skips events already stored).
2. `insightgraph serve` as a subprocess against that Neo4j (INSIGHTGRAPH_NEO4J_URI), a read key from
   graph.keys.create_key (revoked at the end), and realistic parameters picked from the data: the instant T (80%
   into the history), the busiest user in two or more groups who reaches a system through a system group, the
   resource that user reaches by the longest path, a 7-day window ending at T (30 days for accessHistory), and the
   user with the most resources at T for a stress row.
3. The query mix, one client (httpx.Client, keep-alive), sequential: the answers are compared once, every query
   is warmed up, then the systems are interleaved round by round (insightgraph, graph layer, Cypher,
   @neo4j/graphql, insightgraph, ...) so background load on a shared machine hits them alike. p50/p99 over --runs
   rounds.
     - insightgraph: POST /graphql, end to end (HTTP, auth, GraphQL, driver, JSON out).
     - graph layer: the graph.search / graph (access, activity) calls the resolvers make, in this process (no HTTP, no
       GraphQL).
     - Cypher: the same question as the most direct Cypher this file's author could write, through the Python
       driver (an auto-commit read in a session, records fetched — one round trip, as graph/db.py reads; until
       2026-12-02 the floor was `execute_query`, a managed transaction, one BEGIN/COMMIT round trip more): the
       floor.
     - @neo4j/graphql: bench/neo4j-graphql/server.mjs (Apollo Server) on the same database, for the plain filters
       only (a page of 100 newest, and a count); its typeDefs map the Event node as stored. `npm ci` runs there
       when node_modules is missing.
   Plus two diagnostic rows: a trivial GraphQL query (`{ __typename }`, the fixed HTTP + auth + GraphQL cost) and
   the API-key lookup alone.
4. REST: POST /insights/directory/v1/events with limit 10,000, --rest-pages pages in a row via search_after, each
   read to the end (time to first byte, total time, bytes/s), while a thread samples the server process's RSS
   every 5 ms (peak during the phase, and the kernel's high-water mark).
5. Stops the servers and the bench Neo4j (also on error, Ctrl-C or SIGTERM) unless --keep.

--profile prints the PROFILE of every statement our graph layer runs for each question, and of the floor, instead.
--serve-repo / --serve-python run the server from another checkout or interpreter, for A/B comparisons.

Numbers are printed (and written as JSON with --json), never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PEER_DIR = Path(__file__).resolve().parent / "neo4j-graphql"
DAY = 86_400_000
AUTH_TYPES = ["user_login_attempt", "sso_auth", "login_attempt", "radius_auth", "radius_auth_attempt", "ldap_bind"]
REST_TARGET_MS = 200  # issue 15: the REST 10,000-event page p50


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ================================================================================================ the data =====
def dataset_params(args: argparse.Namespace) -> dict[str, Any]:
    return {"events": args.events, "users": args.users, "days": args.days, "seed": args.seed,
            "organization": args.organization}


def ensure_dataset(args: argparse.Namespace, db: Any) -> dict[str, Any]:
    """The bench store holds exactly the requested demo history: reuse it, resume it, or load it."""
    from app.ingest.enrich import Enricher
    from app.ingest import Pipeline, Summary
    from app.ingest.records import Record
    from app.ingest.demo import generate
    from graph.constraints import ensure_schema

    want = dataset_params(args)
    ensure_schema(db)
    rows = db.read("MATCH (d:BenchDataset {id: 'query-bench'}) RETURN properties(d) AS p")
    if rows:
        have = {k: rows[0]["p"].get(k) for k in want}
        if have == want and rows[0]["p"].get("complete"):
            log(f"reusing the bench store in {args.home}: {want}")
            return rows[0]["p"]
        if have != want:
            raise SystemExit(f"error: {args.home} holds a different dataset {have}; use another --home or --rebuild")
    else:
        db.write("CREATE (d:BenchDataset {id: 'query-bench'}) SET d += $p, d.complete = false", p=want)
    present = db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=args.organization)[0]["n"]
    log(f"loading {args.events:,} demo events (users={args.users}, days={args.days}, seed={args.seed}) through "
        f"app.ingest.Pipeline (batch {args.batch_size}); {present:,} already present")
    gen = generate(users=args.users, days=args.days, events=args.events, seed=args.seed,
                   organization=args.organization)
    records = (Record(f"demo event {i}", ev) for i, ev in enumerate(gen, start=1))
    started, done, last = time.monotonic(), [0], [0.0]

    def progress(n: int) -> None:
        done[0] += n
        now = time.monotonic()
        if now - last[0] >= 10 or done[0] >= args.events:
            last[0] = now
            rate = done[0] / max(now - started, 1e-9)
            eta = (args.events - done[0]) / rate if rate else 0
            log(f"  {done[0]:>9,}/{args.events:,} events  {rate:,.0f}/s  eta {eta / 60:.1f} min")

    summary = Pipeline(db, Enricher(None), args.batch_size).run(records, Summary(), progress=progress)
    took = time.monotonic() - started
    log(f"loaded in {took / 60:.1f} min: accepted {summary.accepted:,}, already present {summary.duplicates:,}, "
        f"rejected {len(summary.rejected)}")
    db.write("MATCH (d:BenchDataset {id: 'query-bench'}) SET d.complete = true, d.load_seconds = $s, "
             "d.loaded_at = $at", s=round(took, 1), at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return db.read("MATCH (d:BenchDataset {id: 'query-bench'}) RETURN properties(d) AS p")[0]["p"]



# ========================================================================================== the parameters ======
def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Params:
    org: str
    lo: int  # first and last event (ms)
    hi: int
    t: int  # the instant asked about: 80% into the history
    w_from: int  # the 7-day window ending at t (filtered page, count, histogram)
    w_to: int
    h_from: int  # the 30-day window ending at t (accessHistory)
    uid: str
    username: str
    user_events: int  # events initiated by the user
    groups_at_t: int
    resources_at_t: int
    paths_at_t: int
    rid: str  # a resource the user reaches at t, by the longest path
    rlabel: str
    rname: str
    rhops: int
    wide_uid: str  # the user with the most resources at t (IT: every workstation through a system group)
    wide_username: str
    wide_resources: int
    wide_paths: int


def pick_params(db: Any, org: str) -> Params:
    """Realistic parameters from the data. The user: the busiest (most events initiated) of those in at least two
    groups at T who reach a system through a system group (the longest path shape); the resource for accessPath:
    what that user reaches by its longest path. Also the user with the most resources at T, for a stress row."""
    import graph as traversals

    b = db.read("MATCH (e:Event) WHERE e.organization = $org AND e.ts IS NOT NULL "
                "RETURN min(e.ts) AS lo, max(e.ts) AS hi", org=org)[0]
    lo, hi = int(b["lo"]), int(b["hi"])
    t = (lo + (hi - lo) * 8 // 10) // 1000 * 1000
    busy = db.read("MATCH (u:User {organization: $org})<-[:INITIATED_BY]-(e) "
                   "RETURN u.id AS id, u.username AS username, count(e) AS n ORDER BY n DESC LIMIT 60", org=org)
    chosen, wide = None, None
    for row in busy:
        access = traversals.access_as_of(db, org, row["id"], t)
        if not access:
            continue
        groups = traversals.groups_as_of(db, org, row["id"], t)
        hops = max(len(p.hops) for a in access for p in a.paths)
        cand = (row, access, groups)
        if chosen is None and len(groups) >= 2 and hops >= 3:
            chosen = cand
        if wide is None or len(access) > len(wide[1]):
            wide = cand
    if wide is None:
        raise SystemExit("error: no busy user has any access at the chosen instant; is the dataset complete?")
    row, access, groups = chosen or wide
    target = max(access, key=lambda a: (max(len(p.hops) for p in a.paths), len(a.paths), a.resource.id))
    return Params(org, lo, hi, t, t - 7 * DAY, t, t - 30 * DAY, row["id"], row["username"], row["n"], len(groups),
                  len(access), sum(len(a.paths) for a in access), target.resource.id, target.resource.label,
                  target.resource.name or "", max(len(p.hops) for p in target.paths),
                  wide[0]["id"], wide[0]["username"], len(wide[1]), sum(len(a.paths) for a in wide[1]))


# ============================================================================================= the queries ======
GQL_EVENT_FIELDS = "id timestamp eventType service success clientIp"
GQL_HOPS = ("hops { relationship since until source { label id name } target { label id name } "
            "grantedBy { id timestamp eventType initiator { type email username } clientIp country success } "
            "revokedBy { id timestamp } }")

GQL = {
    "trivial": "{ __typename }",
    "page": "query Page($filter: EventFilter!) { events(filter: $filter, first: 100) { edges { cursor node { "
            + GQL_EVENT_FIELDS + " } } pageInfo { hasNextPage endCursor } } }",
    "count": "query Count($filter: EventFilter!) { eventCount(filter: $filter) }",
    "histogram": "query Histogram($filter: EventFilter!) { eventHistogram(interval: \"1h\", filter: $filter) "
                 "{ start count } }",
    "lifecycle": "query Lifecycle($uid: ID!) { user(id: $uid) { lifecycle { id timestamp eventType service kind "
                 "initiator { type email } target { label id name } clientIp country success "
                 "changes { field from to } association { op relationship source { id name } target { id name } } "
                 "counterpart { label id name } } } }",
    "access": "query Access($uid: ID!, $t: DateTime!) { user(id: $uid) { access(asOf: $t) { "
              "resource { label type id name } paths { kind since until " + GQL_HOPS + " } } } }",
    "accessWide": "query Access($uid: ID!, $t: DateTime!) { user(id: $uid) { access(asOf: $t) { "
                  "resource { label type id name } paths { kind since until " + GQL_HOPS + " } } } }",
    "accessPath": "query AccessPath($uid: ID!, $rid: ID!, $t: DateTime!) { user(id: $uid) { "
                  "accessPath(to: $rid, asOf: $t) { kind since until " + GQL_HOPS + " } } }",
    "accessHistory": "query AccessHistory($uid: ID!, $from: DateTime!, $to: DateTime!) { user(id: $uid) { "
                     "accessHistory(from: $from, to: $to) { resource { label type id name } firstSeen lastSeen "
                     "lastSuccess attempts successes failures mfaShare countries clientIps } } }",
}

PEER = {
    "trivial": "{ __typename }",
    "page": "query Page($where: EventWhere!) { events(where: $where, sort: [{ts: DESC}, {id: DESC}], limit: 100) "
            "{ id ts timestamp event_type service success clientIp } }",
    "count": "query Count($where: EventWhere!) { eventsConnection(where: $where) { aggregate { count { nodes } } } }",
}

# The floor: the most direct Cypher for each question (same answer content as the GraphQL selection above).
# Every entity and interval edge of an organization only ever links nodes of that organization, so anchoring on
# (organization, id) is enough; no per-edge organization checks.
FILTER = ("e.organization = $org AND e.ts >= $from AND e.ts < $to AND e.event_type IN $types "
          "AND e.f_success = false")
VALID = "{r}.since <= $t AND ({r}.until IS NULL OR {r}.until > $t)"
_EV = ("ev {.id, .ts, .event_type, .service, .f_initiated_by_type, .f_initiated_by_email, .f_initiated_by_username, "
       ".f_client_ip, .f_geoip_country_code, .f_success}")
HOPS = ("[r IN rels | {rel: type(r), since: r.since, until: r.until, "
        "src: {id: startNode(r).id, name: coalesce(startNode(r).name, startNode(r).username, startNode(r).hostname)}, "
        "dst: {id: endNode(r).id, name: coalesce(endNode(r).name, endNode(r).username, endNode(r).hostname)}, "
        "granted: COLLECT { MATCH (ev:Event {organization: $org, id: r.granted_by_event}) RETURN " + _EV + " }, "
        "revoked: COLLECT { MATCH (ev:Event {organization: $org, id: r.revoked_by_event}) RETURN ev {.id, .ts} }}]")
USER_CHAIN = ("(u)(()-[m:MEMBER_OF WHERE " + VALID.format(r="m") + "]->(:Group)){0,4}"
              "()-[g:HAS_ACCESS_TO WHERE " + VALID.format(r="g") + "]->")

CYPHER = {
    "trivial": "RETURN 1 AS x",
    "apikey": "MATCH (k:ApiKey {hash: $hash}) RETURN k.id, k.name, k.organizations, k.scope, k.created, k.revoked",
    # organization first in ORDER BY: the planner then reads the (organization, ts) index in order and stops after
    # 101 rows; the page as one row holding a list (the driver decodes a list far cheaper than 101 records)
    "page": f"""
MATCH (e:Event) WHERE {FILTER}
WITH e ORDER BY e.organization DESC, e.ts DESC, e.id DESC LIMIT 101
RETURN collect(e {{.id, .ts, .timestamp, .event_type, .service, success: e.f_success,
                  client_ip: e.f_client_ip}}) AS page""",
    "count": f"MATCH (e:Event) WHERE {FILTER} RETURN count(*) AS n",
    "histogram": f"""
MATCH (e:Event) WHERE {FILTER}
WITH e.ts - e.ts % 3600000 AS bucket, count(*) AS n ORDER BY bucket
RETURN collect([bucket, n]) AS buckets""",
    "lifecycle": """
MATCH (:User {organization: $org, id: $uid})<-[:TARGETS|ASSOC_FROM|ASSOC_TO]-(e:Event)
WITH DISTINCT e
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
ORDER BY ts, id""",
    "access": """
MATCH (u:User {organization: $org, id: $uid})
MATCH p = """ + USER_CHAIN + """(x)
OPTIONAL MATCH (x:Group {kind: 'system'})<-[s:MEMBER_OF WHERE """ + VALID.format(r="s") + """]-(sys:System)
WITH x, sys, relationships(p) + CASE WHEN s IS NULL THEN [] ELSE [s] END AS rels
WHERE sys IS NOT NULL OR NOT (x:Group AND x.kind = 'system')
WITH coalesce(sys, x) AS res, rels
RETURN res {.id, .name, .hostname, label: labels(res)[0]} AS resource, """ + HOPS + """ AS hops""",
    # accessPath: {label} is the resource's label, known to the caller (the bench picked the resource).
    "accessPath": """
MATCH (u:User {organization: $org, id: $uid}), (res:{label} {organization: $org, id: $rid})
CALL (u, res) {
  MATCH p = """ + USER_CHAIN + """(res)
  RETURN relationships(p) AS rels
  UNION ALL
  MATCH (res)-[s:MEMBER_OF WHERE """ + VALID.format(r="s") + """]->(sg:Group {kind: 'system'})
  MATCH p = """ + USER_CHAIN + """(sg)
  RETURN relationships(p) + [s] AS rels
}
RETURN """ + HOPS + """ AS hops""",
    "accessHistory": """
MATCH (u:User {organization: $org, id: $uid})
MATCH (u)<-[:AUTHENTICATED_AS]-(e:Event)
WHERE e.ts >= $from AND e.ts < $to AND e.event_type IN $auth
OPTIONAL MATCH (e)-[:ACCESSED]->(x)
WITH x, CASE WHEN x IS NULL THEN e.service END AS service, e
RETURN x {.id, .name, .hostname, label: labels(x)[0]} AS resource, service, count(*) AS attempts,
       count(CASE WHEN e.f_success THEN 1 END) AS successes, count(CASE WHEN NOT e.f_success THEN 1 END) AS failures,
       count(CASE WHEN e.f_mfa THEN 1 END) AS with_mfa, min(e.ts) AS first_seen, max(e.ts) AS last_seen,
       max(CASE WHEN e.f_success THEN e.ts END) AS last_success,
       collect(DISTINCT e.f_geoip_country_code) AS countries, collect(DISTINCT e.f_client_ip) AS client_ips""",
}

TARGETS_MS = {"page": 15.0, "access": 25.0, "accessPath": 25.0}
ORDER = ["trivial", "page", "count", "histogram", "lifecycle", "access", "accessPath", "accessHistory", "accessWide"]
CYPHER["accessWide"] = CYPHER["access"]
LABELS = {
    "trivial": "trivial `{ __typename }` (fixed cost)",
    "page": "filtered events page of 100",
    "count": "count (same filter)",
    "histogram": "histogram 1h (same filter)",
    "lifecycle": "user lifecycle",
    "access": "user access asOf",
    "accessPath": "user accessPath asOf",
    "accessHistory": "user accessHistory (30 days)",
    "accessWide": "stress: access asOf of the user with most resources",
}


def gql_variables(name: str, p: Params) -> dict[str, Any]:
    flt = {"eventTypes": AUTH_TYPES, "success": False, "from": iso(p.w_from), "to": iso(p.w_to)}
    return {
        "trivial": {}, "page": {"filter": flt}, "count": {"filter": flt}, "histogram": {"filter": flt},
        "lifecycle": {"uid": p.uid}, "access": {"uid": p.uid, "t": iso(p.t)},
        "accessWide": {"uid": p.wide_uid, "t": iso(p.t)},
        "accessPath": {"uid": p.uid, "rid": p.rid, "t": iso(p.t)},
        "accessHistory": {"uid": p.uid, "from": iso(p.h_from), "to": iso(p.t)},
    }[name]


def peer_variables(name: str, p: Params) -> dict[str, Any]:
    where = {"organization": {"eq": p.org}, "event_type": {"in": AUTH_TYPES}, "success": {"eq": False},
             "ts": {"gte": str(p.w_from), "lt": str(p.w_to)}}
    return {} if name == "trivial" else {"where": where}


def cypher_params(name: str, p: Params) -> dict[str, Any]:
    return {
        "trivial": {}, "apikey": {},
        "page": {"org": p.org, "from": p.w_from, "to": p.w_to, "types": AUTH_TYPES},
        "count": {"org": p.org, "from": p.w_from, "to": p.w_to, "types": AUTH_TYPES},
        "histogram": {"org": p.org, "from": p.w_from, "to": p.w_to, "types": AUTH_TYPES},
        "lifecycle": {"org": p.org, "uid": p.uid},
        "access": {"org": p.org, "uid": p.uid, "t": p.t},
        "accessWide": {"org": p.org, "uid": p.wide_uid, "t": p.t},
        "accessPath": {"org": p.org, "uid": p.uid, "rid": p.rid, "t": p.t},
        "accessHistory": {"org": p.org, "uid": p.uid, "from": p.h_from, "to": p.t, "auth": AUTH_TYPES},
    }[name]


def cypher_text(name: str, p: Params) -> str:
    q = CYPHER[name]
    return q.replace("{label}", p.rlabel) if name == "accessPath" else q


def graph_layer_call(name: str, p: Params) -> Callable[[Any], Any]:
    """The same question through our graph layer, in-process (what the resolvers run, minus HTTP and GraphQL)."""
    from app.gql.filter_input import EventFilter, to_filter_tree
    import graph as traversals
    from graph import search
    from graph.lookup import with_entity

    where = to_filter_tree(EventFilter(event_types=AUTH_TYPES, success=False,
                                       from_=datetime.fromtimestamp(p.w_from / 1000, timezone.utc),
                                       to=datetime.fromtimestamp(p.w_to / 1000, timezone.utc)))

    def histogram(db: Any) -> Any:
        search.time_bounds(db, p.org, where)
        return search.histogram(db, p.org, where, width_ms=3_600_000, origin_ms=0)

    def user(fn: Callable[..., Any], *a: Any) -> Callable[[Any], Any]:
        # as `user(id:) { ... }` asks: the lookup inside the traversal's read (app/gql/prefetch.py)
        return lambda db: with_entity(db, p.org, "User", p.uid, fn, *a)[1]

    return {
        "trivial": lambda db: db.read("RETURN 1 AS x"),
        "page": lambda db: search.find_events(db, p.org, where, limit=101, descending=True),
        "count": lambda db: search.count_events(db, p.org, where),
        "histogram": histogram,
        "lifecycle": user(traversals.lifecycle),
        "access": user(traversals.access_as_of, p.t),
        "accessWide": lambda db: with_entity(db, p.org, "User", p.wide_uid, traversals.access_as_of, p.t)[1],
        "accessPath": user(traversals.access_path, p.rid, p.t),
        "accessHistory": user(traversals.access_history, p.h_from, p.t),
    }[name]


# ============================================================================================ the servers ======
def wait_http(url: str, proc: subprocess.Popen, what: str, logfile: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"error: {what} exited with {proc.returncode}; see {logfile}:\n"
                             + logfile.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(url, timeout=2).status_code < 500:  # answering (Apollo refuses a bare GET with 400)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"error: {what} did not answer at {url} within {timeout:.0f}s; see {logfile}")


def start_insightgraph(args: argparse.Namespace, neo: Any, procs: list[subprocess.Popen]) -> subprocess.Popen:
    logfile = args.home / "serve.log"
    env = dict(os.environ, INSIGHTGRAPH_NEO4J_URI=neo.uri, INSIGHTGRAPH_HOME=str(args.home / "serve-home"),
               INSIGHTGRAPH_PORT=str(args.http_port))
    cmd = [args.serve_python, "-m", "app.cli", "serve", "--port", str(args.http_port)]
    env["PYTHONPATH"] = str(args.serve_repo)
    log(f"starting insightgraph serve on :{args.http_port} from {args.serve_repo} with {args.serve_python} "
        f"(log {logfile})")
    offset = logfile.stat().st_size if logfile.exists() else 0
    proc = subprocess.Popen(cmd, cwd=args.serve_repo, env=env, stdout=open(logfile, "ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append(proc)
    wait_http(f"http://127.0.0.1:{args.http_port}/readyz", proc, "insightgraph serve", logfile)
    if (Path(args.serve_repo) / "app" / "ingest" / "rehearsal.py").exists():  # an older checkout has none
        wait_warmed(logfile, offset)
    return proc


def wait_warmed(logfile: Path, offset: int, timeout: float = 300.0) -> None:
    """Until serve says its write-path rehearsal ended (app/ingest/rehearsal.py): measuring while it runs would
    charge its Neo4j work to the first requests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(logfile, "rb") as f:
            f.seek(offset)
            for line in f.read().decode(errors="replace").splitlines():
                if '"write path warmed"' in line or '"write path not warmed' in line:
                    entry = json.loads(line)
                    log(f"serve: {entry.get('message')} ({entry.get('seconds', '-')} s, {entry.get('rounds', '-')} "
                        f"rounds, the last {entry.get('last_round_seconds', '-')} s)")
                    return
        time.sleep(0.5)
    log(f"serve's write-path warm-up did not end within {timeout:.0f} s")


def start_peer(args: argparse.Namespace, neo: Any, procs: list[subprocess.Popen]) -> subprocess.Popen | None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        log("node/npm not on PATH: skipping @neo4j/graphql")
        return None
    if not (PEER_DIR / "node_modules" / "@neo4j" / "graphql").exists():
        log(f"npm install in {PEER_DIR}")
        cmd = [npm, "ci" if (PEER_DIR / "package-lock.json").exists() else "install", "--no-audit", "--no-fund"]
        subprocess.run(cmd, cwd=PEER_DIR, check=True)
    logfile = args.home / "peer.log"
    env = dict(os.environ, NEO4J_URI=neo.uri, PORT=str(args.peer_port))
    log(f"starting @neo4j/graphql on :{args.peer_port} (log {logfile})")
    proc = subprocess.Popen([node, "server.mjs"], cwd=PEER_DIR, env=env, stdout=open(logfile, "ab"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append(proc)
    wait_http(f"http://127.0.0.1:{args.peer_port}/?query=%7B__typename%7D", proc, "@neo4j/graphql", logfile)
    return proc


def floor_dir(args: argparse.Namespace) -> Path:
    """Where the bench leaves insightgraph's answers for the HTTP floor to send back (bench/http_floor.py)."""
    return args.home / "floor-answers"


def start_floor(args: argparse.Namespace, procs: list[subprocess.Popen]) -> subprocess.Popen:
    """The bare ASGI app of bench/http_floor.py on uvicorn: the cost of an HTTP request before any work."""
    logfile = args.home / "http-floor.log"
    floor_dir(args).mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(PEER_DIR.parent), "http_floor:app", "--port",
           str(args.floor_port), "--log-level", "warning", "--no-access-log"]
    log(f"starting the HTTP floor (bench/http_floor.py) on :{args.floor_port}")
    proc = subprocess.Popen(cmd, env=dict(os.environ, HTTP_FLOOR_DIR=str(floor_dir(args))), stdout=open(logfile, "ab"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    procs.append(proc)
    wait_http(f"http://127.0.0.1:{args.floor_port}/", proc, "the HTTP floor", logfile)
    return proc


# ============================================================================================= measuring ======
def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))
    return s[k]


@dataclass
class Series:
    times: list[float] = field(default_factory=list)  # ms

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def p99(self) -> float:
        return pct(self.times, 0.99)


class GraphQLError(RuntimeError):
    pass


def gql_call(client: Any, url: str, query: str, variables: dict[str, Any],
             headers: dict[str, str] | None = None) -> Callable[[], Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    hdrs = {"content-type": "application/json", **(headers or {})}

    def call() -> Any:
        r = client.post(url, content=body, headers=hdrs)
        if r.status_code != 200:
            raise GraphQLError(f"{url}: HTTP {r.status_code}: {r.text[:500]}")
        out = r.json()
        if out.get("errors"):
            raise GraphQLError(f"{url}: {json.dumps(out['errors'])[:800]}")
        return out["data"]

    return call


def cypher_call(driver: Any, query: str, params: dict[str, Any]) -> Callable[[], Any]:
    import neo4j

    def call() -> Any:  # an auto-commit read, one round trip: the driver's cheapest path, as graph/db.py reads
        with driver.session(default_access_mode=neo4j.READ_ACCESS) as session:
            return list(session.run(query, params))

    return call


def agree(name: str, ours: Any, floor: Any, peer: Any) -> str:
    """A short statement of whether the systems gave the same answer (checked once, before timing)."""
    try:
        if name == "page":
            a = [e["node"]["id"] for e in ours["events"]["edges"]]
            b = [r["id"] for r in floor[0]["page"]][:100]
            c = [e["id"] for e in peer["events"]] if peer is not None else None
            return f"{len(a)} events; same ids as Cypher: {a == b}" + ("" if c is None else f", as peer: {a == c}")
        if name == "count":
            a, b = ours["eventCount"], floor[0]["n"]
            c = peer["eventsConnection"]["aggregate"]["count"]["nodes"] if peer is not None else None
            return f"{a} events; Cypher {b}" + ("" if c is None else f", peer {c}")
        if name == "histogram":
            a = sum(x["count"] for x in ours["eventHistogram"])
            b = floor[0]["buckets"]
            return f"{len(ours['eventHistogram'])} buckets / {a} events; Cypher {len(b)} / {sum(n for _, n in b)}"
        if name == "lifecycle":
            a = [x["id"] for x in ours["user"]["lifecycle"]]
            return f"{len(a)} entries; same ids as Cypher: {a == [r['id'] for r in floor]}"
        if name in ("access", "accessWide"):
            a = ours["user"]["access"]
            return (f"{len(a)} resources / {sum(len(x['paths']) for x in a)} paths; Cypher "
                    f"{len({r['resource']['id'] for r in floor})} / {len(floor)}")
        if name == "accessPath":
            return f"{len(ours['user']['accessPath'])} paths; Cypher {len(floor)}"
        if name == "accessHistory":
            a = ours["user"]["accessHistory"]
            return (f"{len(a)} resources / {sum(x['attempts'] for x in a)} attempts; Cypher {len(floor)} / "
                    f"{sum(r['attempts'] for r in floor)}")
    except Exception as exc:  # a report, not a test
        return f"could not compare: {type(exc).__name__}: {exc}"
    return ""


def run_mix(args: argparse.Namespace, p: Params, client: Any, driver: Any, db: Any, secret: str,
            peer_up: bool) -> dict[str, dict[str, Series]]:
    from graph.keys import digest

    ours_url = f"http://127.0.0.1:{args.http_port}/graphql"
    peer_url = f"http://127.0.0.1:{args.peer_port}/"
    names = [n for n in ORDER if not args.only or n in args.only.split(",")]
    calls: dict[str, dict[str, Callable[[], Any]]] = {}
    for n in names:
        c = {
            "insightgraph": gql_call(client, ours_url, GQL[n], gql_variables(n, p), {"x-api-key": secret}),
            "graph layer": (lambda fn: (lambda: fn(db)))(graph_layer_call(n, p)),
            "cypher": cypher_call(driver, cypher_text(n, p), cypher_params(n, p)),
        }
        if peer_up and n in PEER:
            c["@neo4j/graphql"] = gql_call(client, peer_url, PEER[n], peer_variables(n, p))
        calls[n] = c
    calls.setdefault("apikey", {})["cypher"] = cypher_call(driver, CYPHER["apikey"], {"hash": digest(secret)})
    for n in names:  # the HTTP floor answers each query with insightgraph's own bytes for it
        body = json.dumps({"query": GQL[n], "variables": gql_variables(n, p)}).encode()
        r = client.post(ours_url, content=body, headers={"content-type": "application/json", "x-api-key": secret})
        (floor_dir(args) / f"{n}.json").write_bytes(r.content)
        calls[n]["HTTP floor"] = gql_call(client, f"http://127.0.0.1:{args.floor_port}/{n}", GQL[n],
                                          gql_variables(n, p))

    log("checking the answers agree (once, untimed)")
    for n in names:
        c = calls[n]
        ours, floor = c["insightgraph"](), c["cypher"]()
        peer = c["@neo4j/graphql"]() if "@neo4j/graphql" in c else None
        note = agree(n, ours, floor, peer)
        if note:
            log(f"  {n:<14} {note}")
    results: dict[str, dict[str, Series]] = {n: {s: Series() for s in c} for n, c in calls.items()}
    log(f"warm-up: {args.warmup} rounds")
    for _ in range(args.warmup):
        for c in calls.values():
            for fn in c.values():
                fn()
    log(f"timing: {args.runs} rounds, systems interleaved")
    clock = time.perf_counter
    for i in range(args.runs):
        for n, c in calls.items():
            for s, fn in c.items():
                t0 = clock()
                fn()
                results[n][s].times.append((clock() - t0) * 1000)
        if (i + 1) % max(1, args.runs // 5) == 0:
            log(f"  {i + 1}/{args.runs}")
    return results


class RssSampler(threading.Thread):
    """Samples a process's RSS (and its children's) every `every` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        import psutil

        self.proc, self.every, self.peak, self.samples = psutil.Process(pid), every, 0, 0
        self._stop_evt = threading.Event()

    def rss(self) -> int:
        return self.proc.memory_info().rss

    def run(self) -> None:
        while not self._stop_evt.is_set():
            try:
                self.peak = max(self.peak, self.rss())
                self.samples += 1
            except Exception:
                return
            time.sleep(self.every)

    def stop(self) -> int:
        self._stop_evt.set()
        self.join()
        return self.peak


def vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def run_rest(args: argparse.Namespace, p: Params, client: Any, driver: Any, secret: str,
             server_pid: int) -> dict[str, Any]:
    """Full 10,000-event pages of /events (DESC over the whole history), paged with search_after."""
    import neo4j

    url = f"http://127.0.0.1:{args.http_port}/insights/directory/v1/events"
    base = {"service": ["all"], "start_time": iso(p.lo), "end_time": iso(p.hi + 1), "limit": 10_000, "sort": "DESC"}
    hdrs = {"x-api-key": secret, "content-type": "application/json"}

    def page(search_after: Any) -> tuple[float, float, int, int, Any]:
        body = dict(base, **({"search_after": search_after} if search_after else {}))
        t0 = time.perf_counter()
        with client.stream("POST", url, content=json.dumps(body).encode(), headers=hdrs) as r:
            if r.status_code != 200:
                raise RuntimeError(f"/events: HTTP {r.status_code}: {r.read()[:500]!r}")
            first, size = None, 0
            for chunk in r.iter_raw():
                if first is None:
                    first = time.perf_counter()
                size += len(chunk)
            done = time.perf_counter()
            return ((first or done) - t0) * 1000, (done - t0) * 1000, size, int(r.headers["X-Result-Count"]), \
                json.loads(r.headers["X-Search_after"])

    log("REST: one warm-up page")
    page(None)
    sampler = RssSampler(server_pid)
    before = sampler.rss()
    sampler.start()
    pages = []
    after = None
    log(f"REST: {args.rest_pages} pages of 10,000 in a row (search_after)")
    for _ in range(args.rest_pages):
        ttfb, total, size, count, after = page(after)
        pages.append({"ttfb_ms": ttfb, "total_ms": total, "bytes": size, "events": count})
        if count < 10_000:
            break
    peak = sampler.stop()
    # The floor: the same first page's events (id and raw) straight from the driver in one query.
    q = ("MATCH (e:Event) WHERE e.organization = $org AND e.ts >= $from AND e.ts < $to "
         "WITH e ORDER BY e.organization DESC, e.ts DESC, e.id DESC LIMIT 10000 "
         "RETURN collect([e.id, e.raw]) AS page")
    floor = []
    for _ in range(3):
        t0 = time.perf_counter()
        recs, _, _ = driver.execute_query(q, {"org": p.org, "from": p.lo, "to": p.hi + 1},
                                          routing_=neo4j.RoutingControl.READ)
        n = sum(len(raw) for _, raw in recs[0]["page"])
        floor.append(((time.perf_counter() - t0) * 1000, n))
    totals = [x["total_ms"] for x in pages]
    size = sum(x["bytes"] for x in pages)
    return {
        "pages": pages, "p50_ms": statistics.median(totals), "max_ms": max(totals),
        "ttfb_p50_ms": statistics.median(x["ttfb_ms"] for x in pages),
        "bytes_per_page": size / len(pages), "mb_per_s": size / (sum(totals) / 1000) / 1e6,
        "rss_before": before, "rss_peak": peak, "vm_hwm": vm_hwm(server_pid), "samples": sampler.samples,
        "cypher_floor_ms": statistics.median(f[0] for f in floor), "cypher_floor_bytes": floor[0][1],
    }



# ============================================================================================== profiling ======
def plan_lines(plan: dict[str, Any], depth: int = 0) -> list[str]:
    args = plan.get("args", {})
    details = str(args.get("Details", ""))[:150]
    out = [f"{'  ' * depth}{plan.get('operatorType', '?'):<32} rows {plan.get('rows', 0):>7} "
           f"dbHits {plan.get('dbHits', 0):>8}  {details}"]
    for child in plan.get("children", []):
        out += plan_lines(child, depth + 1)
    return out


def total_hits(plan: dict[str, Any]) -> int:
    return int(plan.get("dbHits", 0)) + sum(total_hits(c) for c in plan.get("children", []))


def profile(driver: Any, query: str, params: dict[str, Any]) -> tuple[int, list[str]]:
    with driver.session() as session:
        result = session.run("PROFILE " + query, params)
        for _ in result:  # iterate: consume() alone discards, and Neo4j then refuses the profile of a big result
            pass
        summary = result.consume()
    plan = summary.profile or {}
    return total_hits(plan), plan_lines(plan)


def run_profiles(args: argparse.Namespace, p: Params, driver: Any, db: Any) -> None:
    """PROFILE every statement our graph layer runs for each question, and the hand-written floor."""
    from graph.db import Database

    class Recording(Database):
        def __init__(self, inner: Any) -> None:
            self.__dict__.update(inner.__dict__)
            self.seen: list[tuple[str, dict[str, Any]]] = []

        def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
            self.seen.append((query, params))
            return super().read(query, **params)

    names = [n for n in ORDER if n != "trivial" and (not args.only or n in args.only.split(","))]
    for n in names:
        rec = Recording(db)
        graph_layer_call(n, p)(rec)
        print(f"\n===== {n}: our graph layer ran {len(rec.seen)} statement(s)")
        for q, params in rec.seen:
            hits, lines = profile(driver, q, params)
            print(f"--- ours, {hits:,} db hits:\n" + " ".join(q.split())[:400])
            print("\n".join(lines))
        hits, lines = profile(driver, cypher_text(n, p), cypher_params(n, p))
        print(f"--- hand-written Cypher, {hits:,} db hits")
        print("\n".join(lines))


# ============================================================================================== reporting ======
def fmt(s: Series | None) -> str:
    return "–" if s is None or not s.times else f"{s.p50:.1f} / {s.p99:.1f}"


def report(args: argparse.Namespace, p: Params, dataset: dict[str, Any], results: dict[str, dict[str, Series]],
           rest: dict[str, Any] | None) -> str:
    import platform

    import psutil

    lines = []
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    lines.append(f"machine: {os.cpu_count()} vCPU {cpu}, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
                 f"load average at the end {os.getloadavg()[0]:.1f}; Python {platform.python_version()}")
    lines.append(f"data: {dataset.get('events'):,} demo events (users={dataset.get('users')}, days={dataset.get('days')}, "
                 f"seed={dataset.get('seed')}), Neo4j heap {args.heap} / page cache {args.pagecache}")
    lines.append(f"params: T={iso(p.t)}; user {p.username} ({p.user_events:,} events initiated, {p.groups_at_t} groups, "
                 f"{p.resources_at_t} resources / {p.paths_at_t} paths at T); accessPath to {p.rlabel} {p.rname!r} "
                 f"({p.rhops} hops); filter: failed authentications {iso(p.w_from)} .. {iso(p.w_to)}; stress user "
                 f"{p.wide_username} ({p.wide_resources} resources / {p.wide_paths} paths at T)")
    if args.serve_python != sys.executable or args.serve_repo != ROOT:
        lines.append(f"server: {args.serve_python} from {args.serve_repo}")
    lines.append(f"{args.runs} timed rounds after {args.warmup} warm-up rounds, one client, keep-alive, systems "
                 "interleaved; ms p50 / p99")
    lines.append("")
    lines.append("| query | insightgraph (HTTP) | graph layer (in-process) | hand-written Cypher | ratio p50 "
                 "| HTTP floor | lowest ratio an HTTP service could show | @neo4j/graphql (HTTP) | target p50 |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for n in [n for n in ORDER if n in results]:
        r = results[n]
        ours, floor = r.get("insightgraph"), r.get("cypher")
        ratio = f"{ours.p50 / floor.p50:.2f}×" if ours and floor and floor.p50 else "–"
        target = TARGETS_MS.get(n)
        verdict = "" if target is None else f"≤ {target:.0f} ms: {'met' if ours.p50 <= target else 'MISSED'}"
        floor_http = r.get("HTTP floor")
        bound = (f"{(floor_http.p50 + floor.p50) / floor.p50:.2f}×" if floor_http and floor and floor.p50
                 and n != "trivial" else "–")
        lines.append(f"| {LABELS[n]} | {fmt(ours)} | {fmt(r.get('graph layer'))} | {fmt(floor)} | {ratio} | "
                     f"{fmt(floor_http)} | {bound} | {fmt(r.get('@neo4j/graphql'))} | {verdict} |")
    if "apikey" in results:
        lines.append(f"| API-key lookup alone (per request, in the auth middleware) | | | "
                     f"{fmt(results['apikey']['cypher'])} | | | | | |")
    lines.append("")
    lines.append("HTTP floor: a bare ASGI app on uvicorn (bench/http_floor.py) answering the same request with "
                 "insightgraph's bytes for it; lowest ratio = (HTTP floor + Cypher) / Cypher: what a service that did "
                 "nothing but pass the request to that Cypher would show, measured by this client on this machine")
    if rest:
        lines.append("")
        lines.append(f"REST /events, limit 10,000, {len(rest['pages'])} pages in a row (DESC, search_after): "
                     f"p50 {rest['p50_ms']:.0f} ms per page (max {rest['max_ms']:.0f}), first byte after "
                     f"{rest['ttfb_p50_ms']:.0f} ms, {rest['bytes_per_page'] / 1e6:.1f} MB per page, "
                     f"{rest['mb_per_s']:.1f} MB/s; target ≤ {REST_TARGET_MS} ms: "
                     f"{'met' if rest['p50_ms'] <= REST_TARGET_MS else 'MISSED'}")
        lines.append(f"server RSS: {rest['rss_before'] / 2**20:.0f} MiB before, peak {rest['rss_peak'] / 2**20:.0f} "
                     f"MiB while paging ({rest['samples']} samples), kernel high-water mark (whole run) "
                     f"{rest['vm_hwm'] / 2**20:.0f} MiB")
        lines.append(f"floor: the same page's raw JSON straight from the driver in one query: "
                     f"{rest['cypher_floor_ms']:.0f} ms, {rest['cypher_floor_bytes'] / 1e6:.1f} MB")
    return "\n".join(lines)


def run_bench(args: argparse.Namespace, neo: Any, db: Any, dataset: dict[str, Any],
              procs: list[subprocess.Popen]) -> int:
    import httpx
    from neo4j import GraphDatabase

    from graph.keys import create_key, revoke_key

    log("picking parameters from the data")
    p = pick_params(db, args.organization)
    log(f"  T={iso(p.t)} user={p.username} ({p.uid}, {p.user_events} events, {p.resources_at_t} resources, "
        f"{p.paths_at_t} paths) accessPath to {p.rlabel} {p.rname} ({p.rhops} hops)")
    if args.profile:
        driver = GraphDatabase.driver(neo.uri, auth=None, notifications_min_severity="OFF")
        try:
            run_profiles(args, p, driver, db)
        finally:
            driver.close()
        return 0
    key, secret = create_key(db, [args.organization], "read", "bench/query.py")
    server = start_insightgraph(args, neo, procs)
    start_floor(args, procs)
    peer_up = False
    if not args.no_peer:
        peer_up = start_peer(args, neo, procs) is not None
    driver = GraphDatabase.driver(neo.uri, auth=None, notifications_min_severity="OFF")
    try:
        with httpx.Client(timeout=300) as client:
            results = run_mix(args, p, client, driver, db, secret, peer_up)
            rest = None if args.no_rest else run_rest(args, p, client, driver, secret, server.pid)
    finally:
        driver.close()
        revoke_key(db, key.id)
    text = report(args, p, dataset, results, rest)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({
            "args": {k: str(v) for k, v in vars(args).items()}, "dataset": dataset, "params": p.__dict__,
            "results": {n: {s: {"p50": v.p50, "p99": v.p99, "times": v.times} for s, v in r.items()}
                        for n, r in results.items()},
            "rest": rest, "report": text,
        }, indent=1))
    return 0


# ============================================================================================== the main ======
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="demo events in the bench store")
    ap.add_argument("--users", type=int, default=500, help="demo org size")
    ap.add_argument("--days", type=int, default=90, help="demo history length")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--organization", default="5f0000000000000000000001")
    ap.add_argument("--batch-size", type=int, default=1000, help="events per ingest transaction while loading")
    ap.add_argument("--home", type=Path, default=Path("/tmp/insightgraph-bench"), help="the bench Neo4j's home")
    ap.add_argument("--port", type=int, default=7700, help="the bench Neo4j's Bolt port")
    ap.add_argument("--heap", default="4g", help="the bench Neo4j's JVM heap")
    ap.add_argument("--pagecache", default="4g", help="the bench Neo4j's page cache")
    ap.add_argument("--http-port", type=int, default=8765, help="insightgraph serve")
    ap.add_argument("--serve-python", default=sys.executable,
                    help="the interpreter running `insightgraph serve` (e.g. a venv with neo4j-rust-ext)")
    ap.add_argument("--serve-repo", type=Path, default=ROOT,
                    help="the checkout `insightgraph serve` runs from (A/B a change against this one)")
    ap.add_argument("--peer-port", type=int, default=8766, help="the @neo4j/graphql server")
    ap.add_argument("--floor-port", type=int, default=8767, help="the HTTP floor (bench/http_floor.py)")
    ap.add_argument("--runs", type=int, default=200, help="timed runs per query and system")
    ap.add_argument("--warmup", type=int, default=20, help="untimed runs per query and system first")
    ap.add_argument("--rest-pages", type=int, default=10, help="10,000-event REST pages read in a row")
    ap.add_argument("--only", default="", help="comma-separated query names to run (default: all)")
    ap.add_argument("--no-peer", action="store_true", help="skip @neo4j/graphql")
    ap.add_argument("--no-rest", action="store_true", help="skip the REST phase")
    ap.add_argument("--build-only", action="store_true", help="load the store and stop")
    ap.add_argument("--rebuild", action="store_true", help="wipe the bench store first")
    ap.add_argument("--keep", action="store_true", help="leave the bench Neo4j and the servers running")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--profile", action="store_true", help="print PROFILE plans (ours and the floor) and stop")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from graph.db import Database
    from graph.managed import ManagedNeo4j

    neo = ManagedNeo4j(args.home, args.port, args.heap, args.pagecache)
    if args.rebuild:
        neo.stop()
        shutil.rmtree(neo.dir / "data", ignore_errors=True)
    procs: list[subprocess.Popen] = []

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    db = None
    try:
        log(f"bench Neo4j at {neo.uri} (home {args.home}, heap {args.heap}, page cache {args.pagecache})")
        neo.start()
        db = Database(neo.uri, None, None, 120.0)
        db.verify()
        dataset = ensure_dataset(args, db)
        if args.build_only:
            return 0
        return run_bench(args, neo, db, dataset, procs)
    finally:
        for p in reversed(procs):
            if args.keep:
                log(f"left running: pid {p.pid} ({' '.join(map(str, p.args[:4]))} ...)")
                continue
            stop_process(p)
        if db is not None:
            db.close()
        if args.keep:
            log(f"left the bench Neo4j running at {neo.uri} (stop: kill {neo.pid()})")
        else:
            log("stopping the bench Neo4j")
            neo.stop()


def stop_process(p: subprocess.Popen, timeout: float = 15) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)  # started with start_new_session: its own group (npm/node children too)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


if __name__ == "__main__":
    sys.exit(main())
