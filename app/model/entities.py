"""The directory entities, declared once: which vendor object types become which node label, which name properties
an entity carries, which of them it can be looked up by (and so are indexed), and in which order a display name is
chosen. Every other table (constraints, lookups, the ingest's name properties, GraphQL's type names) is derived from
`ENTITIES`, so a new kind of object is one line here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EntityKind:
    """One node label. `vendor_types` map to it (the first is how we name the label's type back to the vendor);
    `lookup_keys` are the name properties it can be found by besides its key, each backed by an index."""

    label: str
    vendor_types: tuple[str, ...]
    lookup_keys: tuple[str, ...] = ("name",)
    key: str = "id"


ENTITIES: tuple[EntityKind, ...] = (
    EntityKind("User", ("user",), ("username", "email", "name")),
    EntityKind("Admin", ("admin",), ("email", "name")),
    EntityKind("Group", ("user_group", "system_group")),
    EntityKind("System", ("system",), ("hostname", "name", "displayName")),
    EntityKind("Application", ("application",), ("name", "display_label")),
    EntityKind("RadiusServer", ("radius_server", "radiusserver")),
    EntityKind("LdapServer", ("ldap_server", "ldapserver")),
    EntityKind("Policy", ("policy",)),
    EntityKind("Command", ("command",)),
    EntityKind("Organization", ("organization",)),
    EntityKind("Resource", ("resource",)),  # any other vendor type, kept in the node's `type`
)
IP_ADDRESS = EntityKind("IPAddress", ("ip_address",), ("address",), key="address")

# The name properties an entity node keeps (newest event wins per property), and the display-name order.
NAME_PROPERTIES: tuple[str, ...] = ("name", "username", "email", "hostname", "displayName", "display_label")
DISPLAY_ORDER: tuple[str, ...] = ("name", "username", "hostname", "email", "display_label", "address")
# Properties the ingest keeps besides the names: a group's kind (user|system) and a generic resource's type.
KIND_PROPERTIES: tuple[str, ...] = ("kind", "type")

ENTITY_LABELS: tuple[str, ...] = tuple(k.label for k in ENTITIES)
BY_LABEL: dict[str, EntityKind] = {k.label: k for k in (*ENTITIES, IP_ADDRESS)}
LOOKUP_KEYS: dict[str, tuple[str, ...]] = {k.label: k.lookup_keys for k in (*ENTITIES, IP_ADDRESS)}
_BY_VENDOR_TYPE: dict[str, str] = {t: k.label for k in ENTITIES for t in k.vendor_types if k.label != "Resource"}
_GROUP_KINDS = {"user_group": "user", "system_group": "system"}
# Write bookkeeping on entity nodes, never shown: the batch token, the lock, and the order key behind each name.
INTERNAL_PROPS = frozenset({"batch", "lock", *(f"{k}_at" for k in (*NAME_PROPERTIES, *KIND_PROPERTIES))})


def label_for(vendor_type: str) -> str:
    """The node label of a vendor object type (lower case); anything unknown is a generic Resource."""
    return _BY_VENDOR_TYPE.get(vendor_type, "Resource")


def vendor_type(label: str, kind: Any = None, typ: Any = None) -> str:
    """The vendor's object type of a node: a group's from its kind, a generic resource's from its stored type."""
    if label == "Group":
        return f"{kind}_group" if kind else "group"
    if label == "Resource":
        return str(typ) if typ else "resource"
    found = BY_LABEL.get(label)
    return found.vendor_types[0] if found else label.lower()


def display_name(props: dict[str, Any]) -> str | None:
    """The name to show for an entity: the first present of DISPLAY_ORDER."""
    for key in DISPLAY_ORDER:
        v = props.get(key)
        if isinstance(v, str) and v:
            return v
    return None


def normalise_ip(address: str) -> str:
    """An IP address as the graph keys it (IPAddress.address)."""
    return address.strip().lower()


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A directory object an event touches, keyed by (organization, id) under `label`."""

    label: str
    id: str
    type: str
    props: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def entity(obj: Any, type_hint: str | None = None, id_key: str = "id") -> EntityRef | None:
    """An EntityRef from a vendor object ({id, type, name, username, email, hostname, ...}), if it has an id."""
    if not isinstance(obj, dict):
        return None
    oid = obj.get(id_key)
    typ = obj.get("type") or type_hint
    if not isinstance(oid, str) or not oid or not isinstance(typ, str):
        return None
    typ = typ.lower()
    label = label_for(typ)
    props: dict[str, Any] = {}
    if typ in _GROUP_KINDS:
        props["kind"] = _GROUP_KINDS[typ]
    for key in NAME_PROPERTIES:
        v = obj.get(key)
        if isinstance(v, str) and v:
            props[key] = v
    name = display_name(props)
    if name is not None:
        props["name"] = name
    if label == "Resource":
        props["type"] = typ
    return EntityRef(label, oid, typ, props)
