"""The known event fields: the one registry that maps a dot path to the Event node property holding its search key.

Field names reaching a query (REST `search_term`, `fields`, `/events/distinct`, GraphQL filters) are looked up
here and rejected when unknown, so no caller-supplied name is ever pasted into Cypher. Search keys are normalised
(strings lower-cased) so that case-insensitive matching can use indexes; the event itself is kept verbatim in `raw`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal

from app.model.errors import InputError

Kind = Literal["str", "key", "bool", "int", "float", "time"]


MAX_VALUE_LENGTH = 4096  # a longer query value is refused, not searched: nothing real is that long


class UnknownField(InputError):
    """A dot path that is not a known event field."""

    def __init__(self, path: str) -> None:
        super().__init__(f"unknown field {path!r}")
        self.path = path


@dataclass(frozen=True)
class Field:
    path: str  # canonical dot path, as in the vendor's events
    prop: str  # the Event node property holding the search key (a fixed identifier, never user input)
    kind: Kind = "str"
    aliases: tuple[str, ...] = ()  # other spellings of the same thing in the wild
    multi: bool = False  # a list of values (e.g. every `changes[].field`)

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.aliases)

    def coerce(self, value: Any) -> Any:
        """Turn a query value into this field's search key (booleans may arrive as strings; case is ignored)."""
        if value is None:
            return None
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            raise ValueError(f"field {self.path!r}: a value longer than {MAX_VALUE_LENGTH} characters matches nothing")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes"):
                return True
            if text in ("false", "0", "no"):
                return False
            raise ValueError(f"field {self.path!r} takes a boolean, not {value!r}")
        if self.kind in ("int", "time"):
            if isinstance(value, bool):
                raise ValueError(f"field {self.path!r} takes a number, not {value!r}")
            try:
                return int(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
                raise ValueError(f"field {self.path!r} takes a whole number, not {value!r}") from None
        if self.kind == "float":
            try:
                return float(value)
            except (TypeError, ValueError):
                raise ValueError(f"field {self.path!r} takes a number, not {value!r}") from None
        if isinstance(value, (dict, list)):
            raise ValueError(f"field {self.path!r} takes a scalar value, not {type(value).__name__}")
        if isinstance(value, bool):
            return "true" if value else "false"
        if self.kind == "key":
            return str(value)  # identifiers are stored and matched exactly as written
        return str(value).lower()


def _f(path: str, kind: Kind = "str", *aliases: str, multi: bool = False, prop: str | None = None) -> Field:
    return Field(path, prop or "f_" + path.replace(".", "_").replace("@", ""), kind, aliases, multi)


FIELDS: tuple[Field, ...] = (
    _f("id", "key", prop="id"),
    _f("event_type", prop="event_type"),
    _f("service", prop="service"),
    _f("organization", "key", prop="organization"),
    _f("timestamp", "time", prop="ts"),
    _f("provider"),
    _f("client_ip"),
    _f("success", "bool"),
    _f("mfa", "bool"),
    _f("auth_method"),
    _f("error_message"),
    _f("initiated_by.id"),
    _f("initiated_by.type"),
    _f("initiated_by.email"),
    _f("initiated_by.username"),
    _f("resource.id"),
    _f("resource.type"),
    _f("resource.username"),
    _f("resource.email"),
    _f("resource.name"),
    _f("changes.field", multi=True),
    _f("association.op"),
    _f("association.action_source"),
    _f("association.connection.from.object_id"),
    _f("association.connection.from.type"),
    _f("association.connection.from.name"),
    _f("association.connection.to.object_id"),
    _f("association.connection.to.type"),
    _f("association.connection.to.name"),
    _f("geoip.country_code", "str", "geoip.country_code2"),
    _f("geoip.continent_code"),
    _f("geoip.region_code"),
    _f("geoip.region_name"),
    _f("geoip.timezone"),
    _f("useragent.name", "str", "user_agent.name"),
    _f("useragent.os", "str", "user_agent.os"),
    _f("useragent.os_name", "str", "user_agent.os_name"),
    _f("useragent.device", "str", "user_agent.device"),
    _f("useragent.major", "str", "user_agent.major"),
    _f("application.id"),
    _f("application.name"),
    _f("application.display_label"),
    _f("application.sso_type"),
    _f("idp_initiated", "bool"),
    _f("username"),
    _f("auth_type"),
    _f("eap_type"),
    _f("nas_mfa_state"),
    _f("outer.eap_type"),
    _f("outer.username"),
    _f("outer.error_message"),
    _f("system.id"),
    _f("system.hostname"),
    _f("system.displayName"),
    _f("process_name"),
    _f("src_ip"),
    _f("windows_meta.elevated", "bool"),
    _f("windows_meta.logon_type"),
    _f("dn"),
    _f("operation_type"),
    _f("mech"),
    _f("start_tls", "bool"),
    _f("tls_established", "bool"),
    _f("error_code", "int"),
    _f("base"),
    _f("scope"),
    _f("filter"),
    _f("number_of_results", "int"),
)

_BY_PATH: dict[str, Field] = {p.lower(): f for f in FIELDS for p in f.paths}

# Objects and lists that `fields` may project whole, besides the leaf fields above.
CONTAINERS: frozenset[str] = frozenset(
    {
        "@version", "initiated_by", "resource", "changes", "association", "association.connection",
        "association.connection.from", "association.connection.to", "association.attributes", "geoip",
        "geoip.latitude", "geoip.longitude", "useragent", "user_agent", "application", "system", "outer",
        "windows_meta", "auth_context", "changes.from", "changes.to", "useragent.minor", "useragent.patch",
        "useragent.os_major", "useragent.os_minor", "user_agent.minor", "user_agent.patch",
        "user_agent.os_major", "user_agent.os_minor", "application.sso_url", "system.displayName",
    }
)


def lookup(path: str) -> Field:
    """The field for a dot path (case-insensitive, either spelling), or UnknownField."""
    if not isinstance(path, str):
        raise UnknownField(repr(path))
    try:
        return _BY_PATH[path.strip().lower()]
    except KeyError:
        raise UnknownField(path) from None


def is_projectable(path: str) -> bool:
    """Whether `fields` may name this path."""
    return path.lower() in _BY_PATH or path in CONTAINERS or path.lower() in {c.lower() for c in CONTAINERS}


def get_path(obj: Any, path: str) -> list[Any]:
    """Every value at a dot path; lists along the way are walked (so `changes.field` yields each change's field)."""
    values: list[Any] = [obj]
    for part in path.split("."):
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, list):
                nxt.extend(x.get(part) for x in v if isinstance(x, dict) and part in x)
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        values = nxt
    out: list[Any] = []
    for v in values:
        if isinstance(v, list):
            out.extend(v)
        elif v is not None:
            out.append(v)
    return out


def search_key(raw: dict, field: Field) -> Any:
    """The search key `scan` stores for a single-valued field of an event (the first of its values that coerces),
    or None: what a reader of the node's property sees, computed from the event itself."""
    if not field.aliases and "." not in field.path:  # a top-level field (most asked for): one value, or a list
        value = raw.get(field.path)
        if not isinstance(value, (list, dict)):
            try:
                return field.coerce(value)
            except ValueError:
                return None
    for path in field.paths:
        for value in get_path(raw, path):
            try:
                key = field.coerce(value)
            except ValueError:
                continue
            if key is not None:
                return key
    return None


# The fields stored as Event properties here (identity and time are stored by the event model itself), and every
# exact path (canonical or alias) any of them reads.
_INDEXED: tuple[Field, ...] = tuple(
    f for f in FIELDS if f.prop not in ("id", "organization", "event_type", "service", "ts"))
_EXACT_PATHS: frozenset[str] = frozenset(p for f in _INDEXED for p in f.paths)


def scan(raw: dict) -> tuple[dict[str, Any], list[str]]:
    """One walk over an event: (the search keys of every known field present, every scalar leaf as lower-cased
    text). The Event node's filter properties and its free-text haystack both come from here, so ingest touches
    each value once instead of once per registered field.

    A field's values are those `get_path` finds, in the same order (a field's canonical path before its aliases),
    so the first one is the field's key and multi-valued fields keep them all.
    """
    found: dict[str, list[Any]] = {}
    leaves: list[str] = []

    def leaf(path: str, v: Any) -> None:
        if isinstance(v, bool):
            leaves.append("true" if v else "false")
        else:
            leaves.append(str(v).lower())
        if path in _EXACT_PATHS:
            found.setdefault(path, []).append(v)

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(obj, list):
            for v in obj:
                if isinstance(v, list):  # a list inside a list is text, never a field value
                    leaves.extend(leaf_strings(v))
                else:
                    walk(v, path)
        elif obj is not None:
            leaf(path, obj)

    walk(raw, "")
    props: dict[str, Any] = {}
    for field in _INDEXED:
        values = found.get(field.path)
        for alias in field.aliases:
            more = found.get(alias)
            if more:
                values = (values or []) + more
        if not values:
            continue
        keys = []
        for v in values:
            try:
                keys.append(field.coerce(v))
            except ValueError:
                continue  # a value of the wrong type in the wild is kept in raw but not searchable by type
        if keys:
            props[field.prop] = keys if field.multi else keys[0]
    return props, leaves


def leaf_strings(obj: Any) -> Iterable[str]:
    """Every scalar leaf of an event as lower-cased text: the haystack for `q` and `exact_match`."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from leaf_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from leaf_strings(v)
    elif isinstance(obj, bool):
        yield "true" if obj else "false"
    elif obj is not None:
        yield str(obj).lower()
