"""What happened: a user's lifecycle, an admin's changes, a user's sign-ins per resource, and who signed in to a
resource or service."""

from __future__ import annotations

from typing import Any

from app.model.audit import USER_AUTH_TYPES, audit_entry
from app.model.entities import ENTITY_LABELS
from app.model.events import SERVICE_NAMES
from app.model.results import Accessor, AuditEntry, ResourceAccess, ref_sort_key, service_ref
from graph.db import Database
from graph.fragments import (AUTH_AGGREGATES, AUTH_FILTER, identity_key, ref_map, to_ref, user_auths,
                             time_window)
from graph.lookup import find_by_id


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


_LIFECYCLE = """
MATCH (u:User {organization: $org, id: $uid})<-[:TARGETS|ASSOC_FROM|ASSOC_TO]-(e)
WHERE e.organization = $org AND e.ts >= $from AND e.ts < $to
WITH DISTINCT e
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
ORDER BY ts, id
"""

_ADMIN_CHANGES = """
MATCH (a:Admin {organization: $org, id: $aid})<-[:INITIATED_BY]-(e)
WHERE e.organization = $org AND e.ts >= $from AND e.ts < $to AND ($logins OR NOT e.event_type ENDS WITH 'login_attempt')
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
ORDER BY ts DESC, id DESC
LIMIT $limit
"""

_USER_AUTH_EVENTS = "MATCH (u:User {organization: $org, id: $uid})" + user_auths("u", "e.ts >= $from AND e.ts < $to")

_ACCESS_HISTORY = _USER_AUTH_EVENTS + f"""
OPTIONAL MATCH (e)-[:ACCESSED]->(x) WHERE x.organization = $org
WITH x, CASE WHEN x IS NULL THEN e.service END AS service, e
RETURN {ref_map('x')} AS resource, service, {AUTH_AGGREGATES}
"""

_WHO = f"""
OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(iu:User) WHERE iu.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username, e.f_initiated_by_email) AS uname, e
RETURN {ref_map('iu')} AS user, uname, {AUTH_AGGREGATES}
"""


def _who_accessed_query(label: str) -> str:
    assert label in ENTITY_LABELS
    return f"""
MATCH (x:{label} {{organization: $org, id: $rid}})<-[:ACCESSED]-(e)
WHERE {AUTH_FILTER}""" + _WHO


_WHO_ACCESSED = {label: _who_accessed_query(label) for label in ENTITY_LABELS}
_WHO_USED_SERVICE = f"""
MATCH (e:Event)
WHERE {AUTH_FILTER} AND e.service = $service AND NOT EXISTS {{ (e)-[:ACCESSED]->() }}""" + _WHO





def lifecycle(db: Database, organization: str, user_id: str, from_ms: int | None = None,
              to_ms: int | None = None) -> list[AuditEntry]:
    """The story of a user, ordered by (ts, id): every event targeting the user or having the user as an
    association endpoint (created, updated, suspended, password, MFA, groups and resources added/removed, ...)."""
    rows = db.read(_LIFECYCLE, org=organization, uid=user_id, **time_window(from_ms, to_ms))
    return [audit_entry(r, user_id) for r in rows]


def admin_changes(db: Database, organization: str, admin_id: str, from_ms: int | None = None,
                  to_ms: int | None = None, limit: int = 100, include_logins: bool = False) -> list[AuditEntry]:
    """What an admin did, newest first (their own login attempts left out unless asked for)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = db.read(_ADMIN_CHANGES, org=organization, aid=admin_id, limit=int(limit), logins=include_logins,
                   **time_window(from_ms, to_ms))
    return [audit_entry(r) for r in rows]


def access_history(db: Database, organization: str, user_id: str, from_ms: int | None = None,
                   to_ms: int | None = None) -> list[ResourceAccess]:
    """Per resource the user authenticated to in the window (SSO applications, systems, and the portal, RADIUS
    and LDAP services as Service refs): first/last seen, successes, failures, MFA share, countries, client IPs."""
    rows = db.read(_ACCESS_HISTORY, org=organization, uid=user_id, auth=list(USER_AUTH_TYPES),
                   **time_window(from_ms, to_ms))
    out = [
        ResourceAccess(to_ref(r["resource"]) or service_ref(r["service"]), r["first_seen"], r["last_seen"],
                       r["last_success"], r["attempts"], r["successes"], r["failures"],
                       share(r["with_mfa"], r["attempts"]), tuple(sorted(r["countries"])),
                       tuple(sorted(r["client_ips"])))
        for r in rows
    ]
    return sorted(out, key=lambda a: ref_sort_key(a.resource))



def who_accessed(db: Database, organization: str, resource_id: str, from_ms: int | None = None,
                 to_ms: int | None = None) -> list[Accessor]:
    """Who authenticated to the resource in the window, with counts and first/last times. `resource_id` is an
    entity id (application, system) or a service name (directory, radius, ldap) for the service itself."""
    found = find_by_id(db, organization, resource_id)
    params = dict(org=organization, auth=list(USER_AUTH_TYPES), **time_window(from_ms, to_ms))
    if found is not None:
        rows = db.read(_WHO_ACCESSED[found.label], rid=resource_id, **params)
    elif resource_id in SERVICE_NAMES:
        rows = db.read(_WHO_USED_SERVICE, service=resource_id, **params)
    else:
        return []
    merged: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = identity_key(r)
        m = merged.get(key)
        if m is None:
            merged[key] = dict(r, countries=set(r["countries"]), client_ips=set(r["client_ips"]))
            continue
        for k in ("attempts", "successes", "failures", "with_mfa"):
            m[k] += r[k]
        m["first_seen"], m["last_seen"] = min(m["first_seen"], r["first_seen"]), max(m["last_seen"], r["last_seen"])
        m["last_success"] = max((x for x in (m["last_success"], r["last_success"]) if x is not None), default=None)
        m["countries"] |= set(r["countries"])
        m["client_ips"] |= set(r["client_ips"])
    out = [
        Accessor(to_ref(m["user"]), m["user"]["name"] if m["user"] else m["uname"], m["first_seen"], m["last_seen"],
                 m["last_success"], m["attempts"], m["successes"], m["failures"], share(m["with_mfa"], m["attempts"]),
                 tuple(sorted(m["countries"])), tuple(sorted(m["client_ips"])))
        for m in merged.values()
    ]
    return sorted(out, key=lambda a: (-a.attempts, a.username or "", a.user.id if a.user else ""))

