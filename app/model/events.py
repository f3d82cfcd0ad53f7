"""The event model: parses and normalises every Directory Insights event shape into one `Event`.

The original JSON is kept verbatim in `Event.raw` (enrichment may add absent keys, never overwrite); everything
else here is derived from it: the ordering key, the search keys, the entities the event touches and, for an
`association_change`, the connection whose history the access edges are computed from.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from dataclasses import dataclass
from typing import Any

from app.model.entities import ENTITY_LABELS, EntityRef, entity  # noqa: F401  (ENTITY_LABELS: re-export)
from app.model.errors import EventError
from app.model.fields import lookup, scan, search_key
from app.model.jsonutil import dumps
from app.model.times import parse_timestamp

SERVICES: tuple[str, ...] = (
    "directory", "sso", "radius", "ldap", "systems", "mdm", "software", "password_manager", "object_storage",
    "saas_app_management", "access_management", "asset_management", "alerts", "notifications", "reports",
)
SERVICE_ALIASES = {"alert": "alerts"}
# An authentication that names no application or system reached the service itself; it is reported as a
# pseudo-resource Ref(label="Service", type=<service>, id=<service>, name=<below>).
SERVICE_NAMES: dict[str, str] = {
    "directory": "User Portal", "radius": "RADIUS", "ldap": "LDAP", "sso": "SSO", "systems": "Systems",
}


def normalise_service(name: str) -> str:
    """A service name as stored: lower case, vendor aliases (`alert`) folded into the canonical name."""
    name = name.strip().lower()
    return SERVICE_ALIASES.get(name, name)


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
class Connection:
    """An association_change: `op` on the connection between two objects."""

    op: str  # add | remove | update
    a: EntityRef  # `from`
    b: EntityRef  # `to`


@dataclass(slots=True)
class Event:
    id: str
    organization: str
    event_type: str
    service: str
    timestamp: str
    ts: int
    raw: dict[str, Any]
    _props: dict[str, Any] | None = None  # node_properties(), once

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

    def node_properties(self) -> dict[str, Any]:
        """properties(), computed once: the ingest computes them while parsing, off the writer's thread."""
        if self._props is None:
            self._props = self.properties()
        return self._props

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


@dataclass(frozen=True)
class EventHeadline:
    """An event's normalised headline values, as its node stores them: a page asking for no more than these is
    answered from the node's properties, without reading and parsing its stored JSON (graph.search.find_events);
    `of` computes the same values from the event itself, so an answer never depends on which was read."""

    organization: str
    event_type: str  # lower case
    service: str  # normalise_service
    success: bool | None  # the fields' search keys (app.model.fields.search_key); None when the event has none
    mfa: bool | None
    client_ip: str | None  # lower case

    @classmethod
    def of(cls, raw: dict) -> "EventHeadline":
        return cls(str(raw.get("organization", "")), str(raw.get("event_type", "")).lower(),
                   normalise_service(str(raw.get("service", ""))), search_key(raw, _SUCCESS), search_key(raw, _MFA),
                   search_key(raw, _CLIENT_IP))


_SUCCESS, _MFA, _CLIENT_IP = lookup("success"), lookup("mfa"), lookup("client_ip")


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
    service = normalise_service(_require_str(obj, "service"))
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
