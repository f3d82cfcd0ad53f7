"""Investigation helpers: failed-login bursts, successful sign-ins that should not have happened (after a grant was
revoked or the account suspended), and first sign-ins from a new country. The arithmetic (bursts, gaps, account
ranges, reasons) is pure and lives in app.model.intervals; this module reads the graph around it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app.model.audit import USER_AUTH_TYPES
from app.model.intervals import LO, account_ranges, burst_ranges, gaps, revocation_reasons
from app.model.results import (AccessAfterRevocation, FailedLoginBurst, NewCountryLogin, Ref, RevocationReason,
                               ref_sort_key, service_ref)
from graph.access import reach_windows
from graph.db import Database
from graph.fragments import (AUTH_FILTER, event_refs, identity_key, must_ref, ref_map, to_ref,
                             time_window, user_auths)
from graph.principals import status_histories

_ORG_AUTH_EVENTS = f"""
MATCH (e:Event)
WHERE {AUTH_FILTER} AND e.f_success = $success
OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(iu:User) WHERE iu.organization = $org
RETURN e.id AS id, e.ts AS ts, e.service AS service, {ref_map('iu')} AS user,
       coalesce(e.f_initiated_by_username, e.f_username) AS uname, trim(e.f_client_ip) AS client_ip,
       toUpper(e.f_geoip_country_code) AS country
ORDER BY ts, id
"""

# Who reached what successfully in a window, compressed to (user, resource) pairs with their first and last time.
_SUCCESS_PAIRS = f"""
MATCH (e:Event)
WHERE {AUTH_FILTER} AND e.f_success = true
OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(iu:User) WHERE iu.organization = $org
OPTIONAL MATCH (e)-[:ACCESSED]->(x) WHERE x.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username) AS uname, x,
     CASE WHEN x IS NULL THEN e.service END AS service, min(e.ts) AS first, max(e.ts) AS last
RETURN {ref_map('iu')} AS user, uname, {ref_map('x')} AS resource, service, first, last
"""

# The successful authentications of given users to given resources (or services) in given time ranges.
_SUCCESS_IN_RANGES = (
    "UNWIND $probes AS p\nMATCH (u:User {organization: $org, id: p.uid})"
    + user_auths("u, p", "e.ts >= p.lo AND e.ts < p.hi AND e.f_success = true")
    + """WITH p, e
WHERE CASE WHEN p.rid IS NULL
           THEN e.service = p.service AND NOT EXISTS { (e)-[:ACCESSED]->() }
           ELSE EXISTS { (e)-[:ACCESSED]->(x) WHERE x.organization = $org AND x.id = p.rid } END
RETURN DISTINCT p.uid AS uid, p.rid AS rid, p.service AS service, e.id AS id, e.ts AS ts
ORDER BY ts, id
"""
)

_FIRST_COUNTRY = f"""
MATCH (e:Event)
WHERE {AUTH_FILTER} AND e.f_success = true AND e.f_geoip_country_code IS NOT NULL
OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(iu:User) WHERE iu.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username) AS uname, toUpper(e.f_geoip_country_code) AS country,
     min(e.ts) AS first
RETURN {ref_map('iu')} AS user, uname, country, first
"""

_SUCCESS_AT = f"""
UNWIND $rows AS r
MATCH (e:Event {{organization: $org, ts: r.ts}})
WHERE e.event_type IN $auth AND e.f_success = true AND toUpper(e.f_geoip_country_code) = r.country
OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(iu:User) WHERE iu.organization = $org
RETURN r.ts AS ts, r.country AS country, e.id AS id, {ref_map('iu')} AS user,
       coalesce(e.f_initiated_by_username, e.f_username) AS uname
ORDER BY id
"""

def _org_auths(db: Database, organization: str, success: bool, from_ms: int | None,
               to_ms: int | None) -> list[dict[str, Any]]:
    rows = db.read(_ORG_AUTH_EVENTS, org=organization, auth=list(USER_AUTH_TYPES), success=success,
                   **time_window(from_ms, to_ms))
    return rows


def failed_login_bursts(db: Database, organization: str, window_ms: int, threshold: int,
                        from_ms: int | None = None, to_ms: int | None = None) -> list[FailedLoginBurst]:
    """Per user (or unknown username), the runs of failed authentications in the window where at least
    `threshold` failures fall within `window_ms` of each other; overlapping windows merge into one burst."""
    if window_ms <= 0 or threshold < 1:
        raise ValueError("window_ms must be positive and threshold at least 1")
    by_who: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _org_auths(db, organization, False, from_ms, to_ms):
        by_who[identity_key(r)].append(r)  # already in (ts, id) order
    bursts = []
    for rows in by_who.values():
        for a, b in burst_ranges([r["ts"] for r in rows], window_ms, threshold):
            part = rows[a: b + 1]
            user = to_ref(part[0]["user"])
            bursts.append(FailedLoginBurst(
                user, user.name if user else part[0]["uname"], part[0]["ts"], part[-1]["ts"], len(part),
                tuple(sorted({r["client_ip"] for r in part if r["client_ip"]})),
                tuple(sorted({r["country"] for r in part if r["country"]})),
                tuple(sorted({r["service"] for r in part})), tuple(r["id"] for r in part)))
    return sorted(bursts, key=lambda b: (b.start, b.username or ""))



def _status_timelines(db: Database, organization: str, uids: set[str]) -> dict[str, list[tuple[int, str, str]]]:
    """Per user: (ts, status, event id) at each change of the account's status (active, suspended, locked,
    deleted), in order — the status spans of graph.principals, so an investigation and `User.status` agree."""
    return {uid: [(s.since, s.status, s.by_event) for s in spans]
            for uid, spans in status_histories(db, organization, list(uids)).items()}


def access_after_revocation(db: Database, organization: str, from_ms: int | None = None,
                            to_ms: int | None = None) -> list[AccessAfterRevocation]:
    """Successful logins in the window that should not have happened: to an application or system the user had
    no valid grant path to at that moment but had one earlier, or by a user whose account was suspended or
    deleted by then. Service logins (portal, RADIUS, LDAP) are checked for the account status only.

    Why in three steps: the window's logins are first compressed to (user, resource) pairs, the grant and account
    history of those pairs gives the suspect time ranges, and only the logins inside those ranges are fetched."""
    window = time_window(from_ms, to_ms)
    auth = list(USER_AUTH_TYPES)
    rows = db.read(_SUCCESS_PAIRS, org=organization, auth=auth, **window)
    pairs: dict[tuple[str, Ref], list[int]] = {}  # (user id, resource) -> [first, last] login time
    users: dict[str, Ref] = {}
    for r in rows:
        if r["user"] is None:
            continue  # a username no user has: nothing was ever granted to revoke
        user = must_ref(r["user"])
        users[user.id] = user
        span = pairs.setdefault((user.id, to_ref(r["resource"]) or service_ref(r["service"])), [r["first"], r["last"]])
        span[0], span[1] = min(span[0], r["first"]), max(span[1], r["last"])
    windows = reach_windows(db, organization, {(u, res.id) for u, res in pairs if res.label != "Service"},
                             window["to"])
    statuses = _status_timelines(db, organization, set(users))
    probes, resources = [], {}
    for (uid, res), (first, last) in pairs.items():
        service = res.label == "Service"
        resources[(uid, None if service else res.id, res.id if service else None)] = res
        ranges = account_ranges(statuses.get(uid, []))
        if not service:
            ranges += gaps(windows.get((uid, res.id), []))
        for lo, hi in ranges:
            lo, hi = max(lo, first), min(hi, last + 1)
            if lo < hi:
                probes.append({"uid": uid, "rid": None if service else res.id, "service": res.id if service else None,
                               "lo": lo, "hi": hi})
    if not probes:
        return []
    found: dict[tuple[str, Ref], tuple[str, list[tuple[str, int, str | None]]]] = {}
    for h in db.read(_SUCCESS_IN_RANGES, org=organization, auth=auth, probes=probes):
        res = resources[(h["uid"], h["rid"], h["service"])]
        spans = None if res.label == "Service" else windows.get((h["uid"], res.id), [])
        reasons = revocation_reasons(h["ts"], statuses.get(h["uid"], []), spans)
        if reasons:
            found[(h["id"], res)] = (h["uid"], reasons)
    events = event_refs(db, organization, [eid for eid, _ in found] + [e for _, rs in found.values() for *_, e in rs])
    out = [
        AccessAfterRevocation(events[eid], users[uid], res,
                              tuple(RevocationReason(k, at, events.get(e) if e else None) for k, at, e in reasons))
        for (eid, res), (uid, reasons) in found.items() if eid in events
    ]
    return sorted(out, key=lambda a: (a.event.ts, a.event.id, ref_sort_key(a.resource)))


def new_country_logins(db: Database, organization: str, from_ms: int | None = None,
                       to_ms: int | None = None) -> list[NewCountryLogin]:
    """The first successful login of a user from a country in the window, when the user had logged in
    successfully from another country before (a user's very first country is not news). History before the window
    counts: "never before" means since the first stored event."""
    window = time_window(from_ms, to_ms)
    rows = db.read(_FIRST_COUNTRY, org=organization, auth=list(USER_AUTH_TYPES), **{"from": LO, "to": window["to"]})
    firsts: dict[str, dict[str, int]] = defaultdict(dict)
    who: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = identity_key(r)
        who.setdefault(key, r)
        seen = firsts[key]
        seen[r["country"]] = min(seen.get(r["country"], r["first"]), r["first"])
    candidates = []
    for key, seen in firsts.items():
        for country, first in seen.items():
            before = tuple(sorted(c for c, t in seen.items() if t < first))
            if window["from"] <= first < window["to"] and before:
                candidates.append((key, country, first, before))
    if not candidates:
        return []
    probes = sorted({(first, country) for _, country, first, _ in candidates})
    hits = db.read(_SUCCESS_AT, org=organization, auth=list(USER_AUTH_TYPES),
                   rows=[{"ts": t, "country": c} for t, c in probes])
    first_event: dict[tuple[str, str, int], str] = {}
    for h in hits:
        first_event.setdefault((identity_key(h), h["country"], h["ts"]), h["id"])
    chosen = [(key, country, first, earlier, first_event.get((key, country, first)))
              for key, country, first, earlier in candidates]
    events = event_refs(db, organization, [c[4] for c in chosen])
    out = []
    for key, country, _, earlier, eid in chosen:
        if eid is None or eid not in events:
            continue
        user = to_ref(who[key]["user"])
        out.append(NewCountryLogin(events[eid], user, user.name if user else who[key]["uname"], country, earlier))
    return sorted(out, key=lambda n: (n.event.ts, n.event.id))

