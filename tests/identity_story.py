"""A small identity story, shaped like the vendor's events, shared by the identity tests and the arrival-order
property test: a rename, a username reused after its holder was deleted, names in other letter case, RADIUS / LDAP
/ system / SSO-by-email sign-ins naming the user only by a name, a suspension, and attempts against names nobody
held at the time."""

from __future__ import annotations

from typing import Any

JDOE, LEAVER, HIRE, ADMIN = "a0000000000000000000000a", "b0000000000000000000000b", "c0000000000000000000000c", \
    "d0000000000000000000000d"
GROUP, SYSTEM = "e0000000000000000000000e", "f0000000000000000000000f"

# Instants of the story (all in June 2021).
T = {name: f"2021-06-{day:02d}T10:00:00Z" for name, day in (
    ("create_jdoe", 1), ("create_leaver", 1), ("grant", 2), ("radius_jdoe", 3), ("rename", 5), ("ldap_new", 6),
    ("system_new", 6), ("radius_old_name", 7), ("radius_leaver", 8), ("delete_leaver", 10), ("radius_gap", 11),
    ("create_hire", 12), ("radius_hire", 13), ("sso_email", 14), ("suspend", 20), ("radius_suspended", 21))}


def _admin() -> dict[str, Any]:
    return {"id": ADMIN, "type": "admin", "email": "admin@example.org"}


def story(org: str) -> list[dict[str, Any]]:
    """The events, in time order, each with its own id."""
    n = iter(range(1, 1000))

    def ev(event_type: str, service: str, at: str, **fields: Any) -> dict[str, Any]:
        return {"id": f"{next(n):024x}", "organization": org, "event_type": event_type, "service": service,
                "timestamp": T[at], **fields}

    def user(uid: str, username: str) -> dict[str, Any]:
        return {"id": uid, "type": "user", "username": username}

    def radius(at: str, name: str, success: bool = True) -> dict[str, Any]:
        return ev("radius_auth_attempt", "radius", at, initiated_by={"type": "user", "username": name},
                  username=name, success=success, client_ip="10.0.0.9")

    conn = {"from": {"object_id": JDOE, "type": "user"}, "to": {"object_id": GROUP, "type": "user_group"}}
    grant = {"from": {"object_id": GROUP, "type": "user_group", "name": "Ops"},
             "to": {"object_id": SYSTEM, "type": "system", "name": "bastion"}}
    return [
        ev("user_create", "directory", "create_jdoe", initiated_by=_admin(), resource=user(JDOE, "JDoe"),
           changes=[{"field": "username", "to": "JDoe"}, {"field": "email", "to": "JDoe@Example.org"}]),
        ev("user_create", "directory", "create_leaver", initiated_by=_admin(), resource=user(LEAVER, "lee"),
           changes=[{"field": "username", "to": "lee"}]),
        ev("association_change", "directory", "grant", initiated_by=_admin(),
           association={"op": "add", "connection": conn}),
        ev("association_change", "directory", "grant", initiated_by=_admin(),
           association={"op": "add", "connection": grant}),
        radius("radius_jdoe", "jdoe"),
        ev("user_update", "directory", "rename", initiated_by=_admin(), resource=user(JDOE, "john.doe"),
           changes=[{"field": "username", "from": "jdoe", "to": "john.doe"}]),
        ev("ldap_bind", "ldap", "ldap_new", initiated_by={"type": "user", "username": "John.Doe"},
           dn="uid=John.Doe,ou=Users,o=x,dc=jumpcloud,dc=com", success=True),
        ev("login_attempt", "systems", "system_new", initiated_by={"type": "systemuser", "id": "5e", "username":
           "JOHN.DOE"}, username="JOHN.DOE", system={"id": SYSTEM, "hostname": "bastion"}, success=True),
        radius("radius_old_name", "jdoe", success=False),
        radius("radius_leaver", "lee"),
        ev("user_delete", "directory", "delete_leaver", initiated_by=_admin(), resource=user(LEAVER, "lee")),
        radius("radius_gap", "lee", success=False),
        ev("user_create", "directory", "create_hire", initiated_by=_admin(), resource=user(HIRE, "Lee"),
           changes=[{"field": "username", "to": "Lee"}]),
        radius("radius_hire", "LEE"),
        ev("sso_auth", "sso", "sso_email", initiated_by={"type": "user", "email": "jdoe@example.ORG"}, success=True,
           application={"id": "app0000000000000000000a1", "name": "Wiki"}),
        ev("user_suspended", "directory", "suspend", initiated_by=_admin(), resource=user(JDOE, "john.doe")),
        radius("radius_suspended", "john.doe"),
    ]


def look_alike(org: str, other: str) -> list[dict[str, Any]]:
    """The story's sign-ins re-homed to another organization, with nobody created there: none may resolve."""
    return [dict(e, organization=other, id="9" + e["id"][1:]) for e in story(org) if e["service"] != "directory"]
