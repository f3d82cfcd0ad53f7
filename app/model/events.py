"""The event model: parses and normalises every Directory Insights event shape into one `Event`.

The original JSON is kept verbatim in `Event.raw` (enrichment may add absent keys, never overwrite); everything
else here is derived from it: the ordering key, the search keys, the entities the event touches and, for an
`association_change`, the connection whose history the access edges are computed from.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from app.model.fields import scan
from app.model.jsonutil import dumps

SERVICES: tuple[str, ...] = (
    "directory", "sso", "radius", "ldap", "systems", "mdm", "software", "password_manager", "object_storage",
    "saas_app_management", "access_management", "asset_management", "alerts", "notifications", "reports",
)
SERVICE_ALIASES = {"alert": "alerts"}

# Vendor object type -> (node label, extra properties). Anything else becomes a generic :Resource {type}.
ENTITY_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "user": ("User", {}),
    "admin": ("Admin", {}),
    "user_group": ("Group", {"kind": "user"}),
    "system_group": ("Group", {"kind": "system"}),
    "system": ("System", {}),
    "application": ("Application", {}),
    "radius_server": ("RadiusServer", {}),
    "radiusserver": ("RadiusServer", {}),
    "ldap_server": ("LdapServer", {}),
    "ldapserver": ("LdapServer", {}),
    "policy": ("Policy", {}),
    "command": ("Command", {}),
    "organization": ("Organization", {}),
}
ENTITY_LABELS: tuple[str, ...] = (
    "User", "Admin", "Group", "System", "Application", "RadiusServer", "LdapServer", "Policy", "Command",
    "Organization", "Resource",
)

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$"
)


class EventError(ValueError):
    """An event that cannot be accepted; `field` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_timestamp(value: Any, field: str = "timestamp") -> int:
    """RFC 3339 with 0-9 fractional digits and any offset -> epoch milliseconds (fractions below 1 ms floored)."""
    if not isinstance(value, str):
        raise EventError(field, f"must be an RFC 3339 string, not {type(value).__name__}")
    m = _TS.match(value.strip())
    if not m:
        raise EventError(field, f"{value!r} is not an RFC 3339 timestamp")
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        tz = timezone.utc
        if off not in ("Z", "z"):
            sign = 1 if off[0] == "+" else -1
            digits = off[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
    except ValueError as exc:
        raise EventError(field, f"{value!r} is not a valid date/time ({exc})") from None
    ms = int(((frac or "") + "000")[:3])
    return int(dt.timestamp()) * 1000 + ms


def format_ms(ms: int) -> str:
    """Epoch milliseconds -> RFC 3339 UTC with millisecond precision."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ip_key(address: Any) -> str | None:
    """A fixed-width hex key of an IP address (IPv4 mapped into IPv6), so a CIDR is a string range."""
    if not isinstance(address, str):
        return None
    return _ip_key(address)


@lru_cache(maxsize=65536)  # client addresses repeat a lot within an ingest
def _ip_key(address: str) -> str | None:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 4:
        ip = ipaddress.IPv6Address("::ffff:" + str(ip))
    return f"{int(ip):032x}"


def cidr_range(text: str) -> tuple[str, str]:
    """The (low, high) ip_key range of an address or CIDR; ValueError when it is neither."""
    net = ipaddress.ip_network(text.strip(), strict=False)
    lo, hi = net.network_address, net.broadcast_address
    if net.version == 4:
        lo = ipaddress.IPv6Address("::ffff:" + str(lo))
        hi = ipaddress.IPv6Address("::ffff:" + str(hi))
    return f"{int(lo):032x}", f"{int(hi):032x}"


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A directory object an event touches, keyed by (organization, id) under `label`."""

    label: str
    id: str
    type: str
    props: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Connection:
    """An association_change: `op` on the connection between two objects."""

    op: str  # add | remove | update
    a: EntityRef  # `from`
    b: EntityRef  # `to`


def entity(obj: Any, type_hint: str | None = None, id_key: str = "id") -> EntityRef | None:
    """An EntityRef from a vendor object ({id, type, name, username, email, hostname, ...}), if it has an id."""
    if not isinstance(obj, dict):
        return None
    oid = obj.get(id_key)
    typ = obj.get("type") or type_hint
    if not isinstance(oid, str) or not oid or not isinstance(typ, str):
        return None
    typ = typ.lower()
    label, extra = ENTITY_TYPES.get(typ, ("Resource", {}))
    props: dict[str, Any] = dict(extra)
    for key in ("name", "username", "email", "hostname", "displayName", "display_label"):
        v = obj.get(key)
        if isinstance(v, str) and v:
            props[key] = v
    props.setdefault(
        "name",
        props.get("username") or props.get("hostname") or props.get("email") or props.get("display_label"),
    )
    if props["name"] is None:
        del props["name"]
    if label == "Resource":
        props["type"] = typ
    return EntityRef(label, oid, typ, props)


@dataclass(slots=True)
class Event:
    id: str
    organization: str
    event_type: str
    service: str
    timestamp: str
    ts: int
    raw: dict[str, Any]
    _props: dict[str, Any] | None = None  # properties(), computed once by the ingest

    @property
    def initiator(self) -> EntityRef | None:
        ib = self.raw.get("initiated_by")
        if isinstance(ib, dict) and str(ib.get("type", "")).lower() in ("admin", "user"):
            return entity(ib)
        return None

    @property
    def target(self) -> EntityRef | None:
        return entity(self.raw.get("resource"))

    @property
    def accessed(self) -> list[EntityRef]:
        """The application/system an authentication reached (sso, systems, directory logins into apps)."""
        out = []
        for key in ("application", "system"):
            ref = entity(self.raw.get(key), type_hint=key)
            if ref is not None:
                out.append(ref)
        return out

    @property
    def connection(self) -> Connection | None:
        if self.event_type != "association_change":
            return None
        assoc = self.raw.get("association")
        if not isinstance(assoc, dict):
            return None
        conn = assoc.get("connection") or {}
        a = entity(conn.get("from"), id_key="object_id") if isinstance(conn, dict) else None
        b = entity(conn.get("to"), id_key="object_id") if isinstance(conn, dict) else None
        op = str(assoc.get("op", "")).lower()
        if a is None or b is None or op not in ("add", "remove", "update"):
            return None
        return Connection(op, a, b)

    def properties(self) -> dict[str, Any]:
        """The Event node's properties: identity, ordering key, search keys, and the verbatim event as JSON."""
        props, leaves = scan(self.raw)
        props.update(
            id=self.id,
            organization=self.organization,
            event_type=self.event_type.lower(),
            service=self.service,
            ts=self.ts,
            timestamp=self.timestamp,
            # Every distinct leaf, lower-cased, one per line and framed by newlines: `q` is a substring of it,
            # `exact_match` a whole line ("\nvalue\n"). One string instead of a list halves the event's size.
            text="\n" + "\n".join(sorted({leaf.replace("\n", " ") for leaf in leaves})) + "\n",
            raw=dumps(self.raw),
        )
        key = ip_key(self.raw.get("client_ip"))
        if key:
            props["ip_key"] = key
        conn = self.connection
        if conn is not None:
            props["assoc_pair"] = pair_key(conn)
            props["assoc_op"] = conn.op
        return props


def pair_key(conn: Connection) -> str:
    """One key for a connection regardless of which end the vendor wrote first."""
    ends = sorted([f"{conn.a.type}:{conn.a.id}", f"{conn.b.type}:{conn.b.id}"])
    return "|".join(ends)


def _require_str(obj: dict, key: str) -> str:
    v = obj.get(key)
    if not isinstance(v, str) or not v.strip():
        raise EventError(key, "is required and must be a non-empty string")
    return v


def parse_event(obj: Any, organization: str | None = None) -> Event:
    """Validate and normalise one event. `organization`, when given, is the only one the caller may write to."""
    if not isinstance(obj, dict):
        raise EventError("event", f"must be a JSON object, not {type(obj).__name__}")
    eid = _require_str(obj, "id")
    if len(eid) > 256:
        raise EventError("id", "is longer than 256 characters")
    org = _require_str(obj, "organization")
    if organization is not None and org != organization:
        raise EventError("organization", f"{org!r} is not the organization this request may write to")
    event_type = _require_str(obj, "event_type")
    service = _require_str(obj, "service").lower()
    service = SERVICE_ALIASES.get(service, service)
    if service not in SERVICES:
        raise EventError("service", f"{service!r} is not one of {', '.join(SERVICES)}")
    ts = parse_timestamp(obj.get("timestamp"))
    for key in ("success", "mfa"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], bool):
            raise EventError(key, f"must be a boolean, not {obj[key]!r}")
    for key in ("initiated_by", "resource", "association", "geoip", "application", "system"):
        if key in obj and obj[key] is not None and not isinstance(obj[key], dict):
            raise EventError(key, f"must be an object, not {type(obj[key]).__name__}")
    if "changes" in obj and obj["changes"] is not None and not isinstance(obj["changes"], list):
        raise EventError("changes", "must be a list")
    return Event(eid, org, event_type, service, obj["timestamp"], ts, obj)
