"""A Directory Insights REST request body -> a validated `EventQuery` (pure: no I/O).

Everything the vendor's contract says about an EventQuery is enforced here, once, for
`/events`, `/events/count`, `/events/distinct` and `/events/interval`. The result carries one filter tree
(`app.model.filters`) for the Cypher compiler, so no request text ever reaches a query except as a parameter, and every
field name has been checked against the registry. Errors are `BadRequest` whose message names the offending part
of the body (e.g. ``search_term.and[1].or[0]: unknown field 'foo'``), because clients only see that message.

Leniency follows the contract: sloppy paging knobs (`limit`, `sort`) fall back to defaults, unknown top-level keys
are ignored (real clients send extra ones), but anything that would change *which* events match is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from functools import lru_cache
from typing import Any, Sequence

from app.model.errors import EventError, InputError
from app.model.events import SERVICE_ALIASES, SERVICES, normalise_service
from app.model.times import MAX_INTERVAL_VALUE, parse_timestamp, parse_utc_offset
from app.model.fields import MAX_VALUE_LENGTH, CONTAINERS, FIELDS, Field, UnknownField, is_projectable, lookup
from app.model.filters import MATCH_ALL, Exact, Match, Node, Not, Or, Text, TimeRange, all_of

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_CONDITIONS = 1000  # field conditions (leaves) in one search_term
MAX_OPERATORS = 1000  # and/or/not objects in one search_term
MAX_DEPTH = 32  # nesting of and/or/not
MAX_VALUES = 1000  # values in one field's any-of list
MAX_TOTAL_VALUES = 10_000  # values over the whole search_term
INT64 = 2**63  # Neo4j integers are 64-bit: larger numbers would fail in the driver, not here

SUPPORTED_SERVICES: tuple[str, ...] = ("all", *SERVICES, *SERVICE_ALIASES)
INTERVAL_UNITS: tuple[str, ...] = ("s", "m", "h", "d", "w")
_OPS = ("and", "or", "not")
_SERVICE_FIELD = lookup("service")
_CANONICAL_PATHS: dict[str, str] = {
    **{c.lower(): c for c in CONTAINERS},
    **{p.lower(): p for f in FIELDS for p in f.paths},
}


class BadRequest(InputError):
    """A body the API answers with 400 `{"message": message}`; the message names the offending field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class EventQuery:
    filter: Node  # services + time range + search_term + q/exact_match, combined with all_of
    services: tuple[str, ...] | None  # None: every service
    start_ms: int  # inclusive
    end_ms: int | None  # exclusive; None: open
    limit: int
    sort: str  # "ASC" | "DESC"
    search_after: tuple[int, str] | None  # (epoch ms, event id) of the last event of the previous page
    skip: int
    fields: tuple[str, ...] | None  # projection (registry spelling); None: whole events


def parse_event_query(body: Any) -> EventQuery:
    """Validate an EventQuery body. Raises BadRequest."""
    if not isinstance(body, dict):
        raise BadRequest(f"body: must be a JSON object, not {_json_type(body)}")
    services = _services(body.get("service"))
    if body.get("start_time") is None:
        raise BadRequest("start_time is required (an RFC 3339 time, e.g. 2020-05-14T00:00:00Z)")
    start_ms = _time(body["start_time"], "start_time")
    end_ms = None if body.get("end_time") is None else _time(body["end_time"], "end_time")
    if end_ms is not None and end_ms <= start_ms:
        raise BadRequest(
            f"Start Time not after End Time: end_time {body['end_time']!r} must be after "
            f"start_time {body['start_time']!r}"
        )
    term = body.get("search_term")
    node = all_of(
        None if services is None else Match(_SERVICE_FIELD, services),
        TimeRange(start_ms, end_ms),
        None if term is None else parse_search_term(term),
        _text(body.get("q"), body.get("exact_match")),
    )
    return EventQuery(
        filter=node,
        services=services,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=_limit(body.get("limit")),
        sort=_sort(body.get("sort")),
        search_after=_search_after(body.get("search_after")),
        skip=_skip(body.get("skip")),
        fields=_fields(body.get("fields")),
    )


def parse_distinct(body: Any) -> tuple[EventQuery, Field]:
    """An EventQuery plus the required `field` whose distinct values are counted."""
    query = parse_event_query(body)
    name = body.get("field")
    if name is None:
        raise BadRequest("field is required: the dot path whose distinct values to count, e.g. event_type")
    try:
        return query, lookup(name)
    except UnknownField as exc:
        raise BadRequest(f"field: {exc}") from None


def parse_interval(body: Any) -> tuple[EventQuery, str, int, timezone]:
    """An EventQuery plus (interval_unit, interval_value, timezone) for `/events/interval`.

    The timezone is a fixed offset (whole minutes, UTC when absent): the contract's examples are offsets such as
    "-0500", and a fixed offset keeps bucket boundaries simple arithmetic. Named zones are rejected.
    """
    query = parse_event_query(body)
    unit = body.get("interval_unit")
    if unit is None:
        raise BadRequest(f"interval_unit is required: one of {', '.join(INTERVAL_UNITS)}")
    # Exact lower case: "M" is a month in the vendor's backend, so it must not quietly become minutes.
    if not isinstance(unit, str) or unit.strip() not in INTERVAL_UNITS:
        raise BadRequest(f"interval_unit: {_show(unit)} is not one of {', '.join(INTERVAL_UNITS)}")
    try:
        tz = parse_utc_offset(body.get("timezone"))
    except InputError as exc:
        raise BadRequest(str(exc)) from None
    return query, unit.strip(), _interval_value(body.get("interval_value")), tz


def parse_search_term(term: Any, where: str = "search_term") -> Node:
    """Parse a `search_term` object into a filter tree.

    Grammar (the contract's, both forms found in the wild are accepted):
      term       := {op: conditions}                       exactly one op; op is and | or | not, any case
      conditions := [ {key: value}, ... ]                   list form: single-key objects
                  | {key: value, key2: value2, ...}         map form: each entry is one condition
      key: value := field: scalar | [scalar, ...]           a list is "any of these values"
                  | op: conditions                          nesting, up to MAX_DEPTH levels
    `and` needs all its conditions, `or` any of them, and `not` excludes events matching ANY of its conditions,
    i.e. NOT(OR(...)): that is what {"not": [{"event_type": "a"}, {"event_type": "b"}]} is written to mean, and it
    is what the vendor's backend (an Elasticsearch bool `must_not`) does. Following that backend too, an op with no
    conditions at all constrains nothing (matches every event).
    Field names go through the registry; values are coerced to its search keys (case-insensitive, booleans may be
    strings). `timestamp` compares for equality with an RFC 3339 string or epoch ms, as a 1 ms TimeRange so it
    matches the stored ordering key. Limits keep hostile terms cheap: see the MAX_* constants.
    """
    if not isinstance(term, dict) or len(term) != 1 or _op_name(next(iter(term))) is None:
        raise BadRequest(f"{where}: must be an object with exactly one of 'and', 'or', 'not'")
    ((key, body),) = term.items()
    return _Parser(where).op(_op_name(key) or "", body, f"{where}.{key}", 1)


def project(event: dict, fields: Sequence[str]) -> dict:
    """Keep only the given dot paths of an event, nesting preserved (`initiated_by.username` ->
    {"initiated_by": {"username": ...}}); lists of objects are projected element by element, and a path that names
    a whole object keeps all of it. Paths absent from the event are left out (no nulls, no empty objects)."""
    return _project(event, _path_tree(tuple(fields)))


# --- search_term ---------------------------------------------------------------------------------------------


class _Parser:
    """One search_term's parse, with its complexity budget. Recursion is bounded by MAX_DEPTH, checked first."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.conditions = self.operators = self.values = 0

    def too_complex(self, why: str, loc: str) -> BadRequest:
        return BadRequest(f"{self.root} is too complex: {why} (at {loc})")

    def op(self, op: str, body: Any, loc: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.too_complex(f"and/or/not nested deeper than {MAX_DEPTH} levels", loc)
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise self.too_complex(f"more than {MAX_OPERATORS} and/or/not", loc)
        items: list[Node] = []
        if isinstance(body, list):
            for i, element in enumerate(body):
                eloc = f"{loc}[{i}]"
                if not isinstance(element, dict) or len(element) != 1:
                    raise BadRequest(
                        f"{eloc}: each condition must be an object with exactly one key, "
                        f'e.g. {{"event_type": "user_create"}}, not {_json_type(element, len_of_object=True)}'
                    )
                ((key, value),) = element.items()
                items.append(self.condition(key, value, eloc, depth))
        elif isinstance(body, dict):
            for key, value in body.items():
                items.append(self.condition(key, value, loc, depth))
        else:
            raise BadRequest(
                f"{loc}: must be a list of conditions or an object of field: value, not {_json_type(body)}"
            )
        return _combine(op, items)

    def condition(self, key: Any, value: Any, loc: str, depth: int) -> Node:
        op = _op_name(key)
        if op is not None:
            return self.op(op, value, f"{loc}.{key}", depth + 1)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.too_complex(f"more than {MAX_CONDITIONS} conditions", loc)
        try:
            field = lookup(key)
        except UnknownField as exc:
            raise BadRequest(f"{loc}: {exc}") from None
        return self.leaf(field, value, f"{loc}.{key}")

    def leaf(self, field: Field, value: Any, loc: str) -> Node:
        many = isinstance(value, list)
        values = value if many else [value]
        if not values:
            raise BadRequest(f"{loc}: an empty list matches nothing; give at least one value")
        if len(values) > MAX_VALUES:
            raise BadRequest(f"{loc}: more than {MAX_VALUES} values")
        self.values += len(values)
        if self.values > MAX_TOTAL_VALUES:
            raise self.too_complex(f"more than {MAX_TOTAL_VALUES} values in all", loc)
        keys = [_coerce(field, v, f"{loc}[{i}]" if many else loc) for i, v in enumerate(values)]
        keys = list(dict.fromkeys(keys))
        if field.kind == "time":
            ranges: list[Node] = [TimeRange(k, k + 1) for k in keys]
            return ranges[0] if len(ranges) == 1 else Or(tuple(ranges))
        if field is _SERVICE_FIELD:
            keys = list(dict.fromkeys(normalise_service(k) for k in keys))
        return Match(field, tuple(keys))


def _op_name(key: Any) -> str | None:
    if isinstance(key, str) and key.strip().lower() in _OPS:
        return key.strip().lower()
    return None


def _combine(op: str, items: list[Node]) -> Node:
    if not items:
        return MATCH_ALL
    if op == "and":
        return all_of(*items)
    either = items[0] if len(items) == 1 else Or(tuple(items))
    return either if op == "or" else Not(either)


def _coerce(field: Field, value: Any, loc: str) -> Any:
    if value is None or isinstance(value, (dict, list)):
        hint = " (and/or/not belong among the conditions, not inside a value)" if isinstance(value, dict) else ""
        raise BadRequest(f"{loc}: must be a string, number or boolean, not {_json_type(value)}{hint}")
    if field.kind == "time" and isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        try:
            value = parse_timestamp(value, loc)
        except EventError as exc:
            raise BadRequest(str(exc)) from None
    try:
        key = field.coerce(value)
    except (ValueError, OverflowError) as exc:
        raise BadRequest(f"{loc}: {exc}") from None
    if isinstance(key, int) and not isinstance(key, bool) and not -INT64 < key < INT64 - 1:
        raise BadRequest(f"{loc}: {value!r} is out of range")
    return key


# --- the other EventQuery members -----------------------------------------------------------------------------


def _services(value: Any) -> tuple[str, ...] | None:
    supported = ", ".join(SUPPORTED_SERVICES)
    if value is None:
        raise BadRequest(f"service is required: a list of one or more of {supported}")
    if not isinstance(value, list) or not value:
        raise BadRequest(f"service: must be a non-empty list of strings, one or more of {supported}")
    out: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise BadRequest(f"service[{i}]: must be a string, one of {supported}, not {_json_type(name)}")
        if name.strip().lower() not in SUPPORTED_SERVICES:
            raise BadRequest(f"service: {_show(name)} is not a supported service; supported values: {supported}")
        out.append(normalise_service(name))
    if "all" in out:
        return None
    return tuple(dict.fromkeys(out))


def _time(value: Any, name: str) -> int:
    try:
        return parse_timestamp(value, name)
    except EventError as exc:
        raise BadRequest(str(exc)) from None


def _text(q: Any, exact: Any) -> Node | None:
    """`q` is free text (substring of any text field), `exact_match` an exact field value; empty means absent."""
    for name, value in (("q", q), ("exact_match", exact)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name}: must be a string, not {_json_type(value)}")
    for name, value in (("q", q), ("exact_match", exact)):
        if value is not None and len(value) > MAX_VALUE_LENGTH:
            raise BadRequest(f"{name}: longer than {MAX_VALUE_LENGTH} characters")
    q = (q or "").strip()
    exact = exact or ""
    if q and exact:
        raise BadRequest("q and exact_match cannot be combined: send one of them")
    if q:
        return Text(q.lower())
    if exact:
        return Exact(exact.lower())
    return None


def _whole(value: Any) -> int | None:
    """A JSON integer (or a float with an integral value); None for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _limit(value: Any) -> int:
    n = _whole(value)
    if n is None or n <= 0:
        return DEFAULT_LIMIT
    return min(n, MAX_LIMIT)


def _sort(value: Any) -> str:
    if isinstance(value, str) and value.strip().upper() in ("ASC", "DESC"):
        return value.strip().upper()
    return "ASC"


def _skip(value: Any) -> int:
    if value is None:
        return 0
    n = _whole(value)
    if n is None or not 0 <= n < INT64:
        raise BadRequest("skip must be a non-negative integer")
    return n


def _search_after(value: Any) -> tuple[int, str] | None:
    if value is None:
        return None
    shape = 'search_after: must be [<epoch ms number>, "<event id>"] as sent in the X-Search_after header'
    if not isinstance(value, list) or len(value) != 2:
        raise BadRequest(shape)
    ms, eid = _whole(value[0]), value[1]
    if ms is None or not -INT64 < ms < INT64 or not isinstance(eid, str) or not eid:
        raise BadRequest(shape)
    return ms, eid


MAX_FIELDS = 1000  # a projection lists a few dozen paths; a million would cost seconds of checking


def _fields(value: Any) -> tuple[str, ...] | None:
    """Known paths in the registry's spelling (so they match the raw event's keys); unknown ones are dropped."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise BadRequest("fields: must be a non-empty list of dot paths, e.g. [\"timestamp\", \"event_type\"]")
    if len(value) > MAX_FIELDS:
        raise BadRequest(f"fields: at most {MAX_FIELDS} entries")
    known: list[str] = []
    for path in value:
        if isinstance(path, str) and is_projectable(path.strip()):
            known.append(_CANONICAL_PATHS.get(path.strip().lower(), path.strip()))
    if not known:
        shown = ", ".join(_show(p) for p in value[:5]) + (", ..." if len(value) > 5 else "")
        raise BadRequest(f"fields: none of {shown} is a known field")
    return tuple(dict.fromkeys(known))


def _interval_value(value: Any) -> int:
    if value is None:
        return 1
    n = _whole(value)
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    if n is None or not 0 < n <= MAX_INTERVAL_VALUE:
        raise BadRequest(f'interval_value: must be a positive whole number up to {MAX_INTERVAL_VALUE}, e.g. "2"')
    return n


# --- projection -----------------------------------------------------------------------------------------------

_Tree = dict[str, "_Tree | None"]  # None: keep the whole value
_MISSING = object()


@lru_cache(maxsize=256)
def _path_tree(fields: tuple[str, ...]) -> _Tree:
    """The requested paths as a tree (shared between calls: never mutate it); a whole object beats its parts."""
    root: _Tree = {}
    for path in fields:
        node: _Tree | None = root
        parts = path.split(".")
        for i, part in enumerate(parts):
            assert node is not None
            if part in node and node[part] is None:
                break  # an ancestor is already kept whole
            if i == len(parts) - 1:
                node[part] = None
            else:
                node = node.setdefault(part, {})
    return root


def _project(obj: dict, tree: _Tree) -> dict:
    out: dict = {}
    for key, value in obj.items():  # the event's own key order, as the vendor returns it
        sub = tree.get(key, _MISSING)
        if sub is _MISSING:
            continue
        if sub is None:
            out[key] = value
        else:
            kept = _project_value(value, sub)  # type: ignore[arg-type]
            if kept is not _MISSING:
                out[key] = kept
    return out


def _project_value(value: Any, tree: _Tree) -> Any:
    if isinstance(value, dict):
        kept = _project(value, tree)
        return kept if kept else _MISSING
    if isinstance(value, list):
        items = [k for k in (_project_value(v, tree) for v in value) if k is not _MISSING]
        return items if items else _MISSING
    return _MISSING  # a scalar has no sub-paths


# --- messages -------------------------------------------------------------------------------------------------


def _json_type(value: Any, len_of_object: bool = False) -> str:
    if isinstance(value, dict):
        return f"an object with {len(value)} keys" if len_of_object else "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else type(value).__name__


def _show(value: Any) -> str:
    """repr() for messages, cut short: request text echoed back should stay small."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
