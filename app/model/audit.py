"""Audit rules: which events are a person's authentications, how an event reads as a lifecycle entry (its kind,
the changes it made, the account status it set), and the small event summaries results carry."""

from __future__ import annotations

from typing import Any, Iterable

from app.model.events import parse_event
from app.model.intervals import edge_for
from app.model.jsonutil import loads
from app.model.results import Actor, Association, AuditEntry, Change, EventRef, entity_ref


# Authentications of a person (admin_login_attempt is an admin's; ldap_search follows a bind and proves nothing).
USER_AUTH_TYPES: tuple[str, ...] = (
    "user_login_attempt", "sso_auth", "login_attempt", "radius_auth", "radius_auth_attempt", "ldap_bind",
)
STATUS_TYPES = ("user_suspended", "user_unsuspended", "user_activated", "user_delete", "user_delete_provision")


def text_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def client_ip(raw: dict[str, Any]) -> str | None:
    """The address an event came from, in lower case as the `client_ip` filter matches it and the Event node stores
    it (`raw.client_ip` keeps the original); null when it is not a non-empty text."""
    ip = text_or_none(raw.get("client_ip"))
    return ip.lower() if ip else None


def actor(obj: Any) -> Actor | None:
    if not isinstance(obj, dict):
        return None
    return Actor(str(obj.get("type") or "unknown").lower(), text_or_none(obj.get("id")), text_or_none(obj.get("email")),
                 text_or_none(obj.get("username")))


def country(raw: dict[str, Any]) -> str | None:
    geo = raw.get("geoip")
    if not isinstance(geo, dict):
        return None
    cc = text_or_none(geo.get("country_code")) or text_or_none(geo.get("country_code2"))
    return cc.upper() if cc else None



def status_change(event_type: str, changes: Iterable[Change]) -> str | None:
    """suspended | active | deleted when the event changes a user's account status."""
    if event_type in ("user_delete", "user_delete_provision"):
        return "deleted"
    if event_type == "user_suspended":
        return "suspended"
    if event_type in ("user_unsuspended", "user_activated"):
        return "active"
    for c in changes:
        if c.field == "suspended" and isinstance(c.to_value, bool):
            return "suspended" if c.to_value else "active"
        if c.field == "state" and isinstance(c.to_value, str):
            state = c.to_value.lower()
            if state in ("suspended", "activated", "active"):
                return "suspended" if state == "suspended" else "active"
    return None


_KINDS = {
    "user_suspended": "suspended", "user_unsuspended": "unsuspended", "user_activated": "activated",
    "user_lockout": "locked", "user_unlocked": "unlocked",
    "user_admin_granted": "admin_granted", "user_admin_revoked": "admin_revoked",
}


def audit_kind(event_type: str, changes: tuple[Change, ...], association: Association | None) -> str:
    if association is not None:
        return {"add": "association_added", "remove": "association_removed"}.get(association.op, "association_updated")
    if event_type in _KINDS:
        return _KINDS[event_type]
    if event_type in USER_AUTH_TYPES or event_type.endswith("login_attempt"):
        return "login"
    if "password" in event_type:
        return "password"
    if "totp" in event_type or "mfa" in event_type:
        return "mfa"
    base = event_type.removesuffix("_provision")
    if base.endswith("_create"):
        return "created"
    if base.endswith("_delete"):
        return "deleted"
    if base.endswith("_update"):
        status = status_change(event_type, changes)
        return {"suspended": "suspended", "active": "unsuspended"}.get(status or "", "updated")
    return "other"


def parse_changes(raw: dict[str, Any]) -> tuple[Change, ...]:
    items = raw.get("changes")
    if not isinstance(items, list):
        return ()
    return tuple(Change(str(c.get("field")), c.get("from"), c.get("to")) for c in items if isinstance(c, dict))


def audit_entry(row: dict[str, Any], subject_id: str | None = None) -> AuditEntry:
    raw = loads(row["raw"])
    ev = parse_event(raw)
    changes = parse_changes(raw)
    association = counterpart = None
    conn = ev.connection
    if conn is not None:
        edge = edge_for(conn)
        association = Association(conn.op, entity_ref(conn.a), entity_ref(conn.b), edge[0] if edge else None)
        if subject_id is not None:
            counterpart = association.target if association.source.id == subject_id else association.source
    target = ev.target
    success = raw.get("success")
    return AuditEntry(
        row["id"], row["ts"], row["event_type"], row["service"], audit_kind(row["event_type"], changes, association),
        actor(raw.get("initiated_by")), entity_ref(target) if target else None, client_ip(raw),
        country(raw), success if isinstance(success, bool) else None, changes, association, counterpart,
    )


def event_ref(id: str, ts: int, event_type: str, service: str, raw: dict[str, Any]) -> EventRef:
    """The summary of a stored event that results carry (who, from where, whether it succeeded)."""
    success = raw.get("success")
    return EventRef(id, ts, event_type, service, actor(raw.get("initiated_by")), client_ip(raw), country(raw),
                    success if isinstance(success, bool) else None)
