"""The Cypher every traversal shares, kept in one place because the rules are easy to get subtly wrong: an interval
edge is valid at T when `since <= T < until` (`until` null while open); every node and interval relationship matched
carries the organization (event edges have no properties, so their far ends are checked); values are parameters and
the only text formatted into a query is a whitelisted label or property name. Times are epoch milliseconds.

Access model (app/model/intervals.py): (:User)-[:MEMBER_OF]->(:Group {kind:'user'}) (nested: group MEMBER_OF group),
(user|user group)-[:HAS_ACCESS_TO]->(resource), where the resource may be a system group whose systems are
(:System)-[:MEMBER_OF]->(:Group {kind:'system'}). A path is at most MAX_HOPS relationships long.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable

from app.model.audit import event_ref as summarise_event
from app.model.entities import DISPLAY_ORDER, vendor_type
from app.model.intervals import HI, LO, path_kind, span
from app.model.jsonutil import loads
from app.model.results import AccessPath, EventRef, Hop, Ref, ref_sort_key
from app.model.times import now_ms
from graph.db import Database

MAX_MEMBER_HOPS = 4  # user -> group -> ... nested up to four MEMBER_OF hops before the grant
MAX_HOPS = MAX_MEMBER_HOPS + 2  # + HAS_ACCESS_TO + (system MEMBER_OF system group)


def node_map(v: str) -> str:
    """A node as the small map to_ref reads; `v` is a query variable or expression, never input."""
    return (f"{{label: labels({v})[0], id: coalesce({v}.id, {v}.address), "
            f"name: coalesce({', '.join(f'{v}.{k}' for k in DISPLAY_ORDER)}), kind: {v}.kind, "
            f"type: {v}.type}}")


def ref_map(v: str) -> str:
    """node_map, null for a null node (OPTIONAL MATCH)."""
    return f"CASE WHEN {v} IS NULL THEN null ELSE {node_map(v)} END"


def valid_at(r: str) -> str:
    return f"{r}.organization = $org AND {r}.since <= $t AND ({r}.until IS NULL OR {r}.until > $t)"


def started_before(r: str) -> str:
    return f"{r}.organization = $org AND {r}.since < $t"


HOPS = (f"[r IN rels | {{rel: type(r), src: {node_map('startNode(r)')}, dst: {node_map('endNode(r)')}, "
         f"since: r.since, until: r.until, granted: r.granted_by_event, revoked: r.revoked_by_event}}]")


def with_events(subject: str, also: str = "", column: str = "") -> str:
    """The end of a path statement: one row holding every (subject, hops) row, and the events that granted or
    revoked any hop (each once), so paths and their events cost one round trip instead of two. `also`: one more
    `CALL () {...}` subquery whose result `column` is returned beside them (a user's status events)."""
    return f"""
WITH {subject} AS subject, {HOPS} AS hops
WITH collect({{subject: subject, hops: hops}}) AS rows
CALL (rows) {{
  UNWIND rows AS row
  UNWIND row.hops AS h
  UNWIND [h.granted, h.revoked] AS eid
  WITH DISTINCT eid WHERE eid IS NOT NULL
  MATCH (e:Event {{organization: $org, id: eid}})
  RETURN collect({{id: e.id, ts: e.ts, event_type: e.event_type, service: e.service, raw: e.raw}}) AS events
}}
{also}RETURN rows, events{", " + column if column else ""}
"""


def reach(valid: Callable[[str], str], carry: str) -> str:
    """From a bound user `u` to every resource `res` it reaches through relationships passing `valid`, as `rels`
    (user-side MEMBER_OF chain, the grant, then the system's MEMBER_OF when the grant is to a system group).
    An empty system group reaches nothing; a system group is never itself a resource."""
    return f"""
MATCH p = (u)(()-[m:MEMBER_OF WHERE {valid('m')}]->(:Group {{organization: $org}})){{0,{MAX_MEMBER_HOPS}}}
          ()-[g:HAS_ACCESS_TO WHERE {valid('g')}]->(x {{organization: $org}})
OPTIONAL MATCH (x)<-[s:MEMBER_OF WHERE {valid('s')}]-(sys:System {{organization: $org}})
  WHERE x:Group AND x.kind = 'system'
WITH {carry}, x, sys, relationships(p) + CASE WHEN s IS NULL THEN [] ELSE [s] END AS rels
WHERE NOT (x:Group AND coalesce(x.kind, '') = 'system' AND sys IS NULL)
WITH {carry}, coalesce(sys, x) AS res, rels
"""


# Patterns from an anchor to its events leave `e` unlabelled on purpose: only events have these relationships,
# and without the label the planner cannot choose to scan the organization's events by time instead.
EVENTS_BY_ID = """
UNWIND $ids AS id
MATCH (e:Event {organization: $org, id: id})
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
"""

AUTH_FILTER = "e.organization = $org AND e.event_type IN $auth AND e.ts >= $from AND e.ts < $to"
AUTH_AGGREGATES = """count(e) AS attempts,
       sum(CASE WHEN e.f_success = true THEN 1 ELSE 0 END) AS successes,
       sum(CASE WHEN e.f_success = false THEN 1 ELSE 0 END) AS failures,
       sum(CASE WHEN e.f_mfa = true THEN 1 ELSE 0 END) AS with_mfa,
       min(e.ts) AS first_seen, max(e.ts) AS last_seen,
       max(CASE WHEN e.f_success = true THEN e.ts END) AS last_success,
       collect(DISTINCT toUpper(e.f_geoip_country_code)) AS countries,
       collect(DISTINCT trim(e.f_client_ip)) AS client_ips"""

def user_auths(imports: str, cond: str) -> str:
    """A CALL yielding `e`, each authentication of the bound user `u` passing `cond`: the sign-ins resolved to the
    user at ingest (AUTHENTICATED_AS, graph/resolution.py: by id, or by whoever held the name at that instant). The
    unlabelled `e` keeps the planner from scanning the organization's events by time instead; only events have
    AUTHENTICATED_AS edges."""
    cond = f"e.organization = $org AND e.event_type IN $auth AND {cond}"
    return f"""
CALL ({imports}) {{
  MATCH (u)<-[:AUTHENTICATED_AS]-(e) WHERE {cond}
  RETURN e
}}
"""


def at(as_of_ms: int | None) -> int:
    return now_ms() if as_of_ms is None else int(as_of_ms)


def time_window(from_ms: int | None, to_ms: int | None) -> dict[str, int]:
    return {"from": LO if from_ms is None else int(from_ms), "to": HI if to_ms is None else int(to_ms)}

def to_ref(m: dict[str, Any] | None) -> Ref | None:
    if m is None:
        return None
    return Ref(m["label"], vendor_type(m["label"], m.get("kind"), m.get("type")), m["id"], m.get("name"))


def must_ref(m: dict[str, Any]) -> Ref:
    ref = to_ref(m)
    assert ref is not None
    return ref

def event_ref(row: dict[str, Any]) -> EventRef:
    return summarise_event(row["id"], row["ts"], row["event_type"], row["service"], loads(row["raw"]))


def event_refs(db: Database, organization: str, ids: Iterable[str | None]) -> dict[str, EventRef]:
    """The stored events among `ids`, as EventRefs (one query for all of them)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {r["id"]: event_ref(r) for r in db.read(EVENTS_BY_ID, org=organization, ids=wanted)}

def read_paths(db: Database, query: str, **params: Any) -> dict[Ref, list[AccessPath]]:
    """Run a path statement (ending in `with_events`) -> each subject's paths, events resolved."""
    return paths_from(db.read(query, **params)[0])


def paths_from(found: dict[str, Any]) -> dict[Ref, list[AccessPath]]:
    """The row of a path statement (ending in `with_events`) -> each subject's paths, events resolved."""
    return paths_of(found["rows"], {e["id"]: event_ref(e) for e in found["events"]})


def paths_of(rows: list[dict[str, Any]], events: dict[str, EventRef]) -> dict[Ref, list[AccessPath]]:
    """Rows of (subject, hops) and the stored events among their granting/revoking ones -> the subject's paths.
    The same few nodes (the user, their groups) recur in most hops: each node's Ref is made once."""
    out: dict[Ref, list[AccessPath]] = defaultdict(list)
    refs: dict[tuple[Any, ...], Ref] = {}

    def ref(m: dict[str, Any]) -> Ref:
        key = (m["label"], m["id"], m.get("kind"), m.get("type"), m.get("name"))
        found = refs.get(key)
        if found is None:
            found = refs[key] = must_ref(m)
        return found

    for row in rows:
        hops = tuple(
            Hop(ref(h["src"]), ref(h["dst"]), h["rel"], h["since"], h["until"], h["granted"], h["revoked"],
                events.get(h["granted"]), events.get(h["revoked"]) if h["revoked"] else None)
            for h in row["hops"]
        )
        since, until = span((h.since, h.until) for h in hops)
        out[ref(row["subject"])].append(AccessPath(hops, path_kind([h["rel"] for h in row["hops"]]), since, until))
    for paths in out.values():
        paths.sort(key=lambda p: (len(p.hops), p.since, [(h.source.id, h.target.id, h.since) for h in p.hops]))
    return out


def sorted_items(paths: dict[Ref, list[AccessPath]]) -> list[tuple[Ref, tuple[AccessPath, ...]]]:
    return [(ref, tuple(paths[ref])) for ref in sorted(paths, key=ref_sort_key)]


def identity_key(row: dict[str, Any]) -> str:
    user = row.get("user")
    return "id:" + user["id"] if user else "name:" + str(row.get("uname"))
