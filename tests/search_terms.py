"""Random REST `search_term`s and a plain reference evaluator for them.

Shared by the pure parser tests (tests/test_rest_query.py) and, later, tests against a live server, so the
reference knows nothing about the project: it walks the raw event JSON exactly as the contract describes
(case-insensitive, booleans as strings, any-of lists, `not` excludes events matching any of its conditions,
`geoip.country_code` also found as the older `country_code2`).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Fields present in the reference sample events, with values that occur there plus decoys that occur nowhere.
FIELD_VALUES: dict[str, list[Any]] = {
    "event_type": [
        "association_change", "group_create", "ldap_bind", "login_attempt", "radius_auth_attempt", "sso_auth",
        "user_create", "user_login_attempt", "user_update", "radius_auth", "user_delete",
    ],
    "service": ["directory", "ldap", "radius", "sso", "systems", "mdm"],
    "success": [True, False],
    "initiated_by.username": ["slucero", "paul", "nobody"],
    "username": ["slucero", "paul", "anonymous"],
    "geoip.country_code": ["US", "DE"],
    "geoip.country_code2": ["US", "DE"],
    "resource.type": ["user", "user_group", "system"],
    "association.op": ["add", "remove", "update"],
    "association.connection.to.name": ["Engineering", "GitHub", "build-01", "Sales"],
}
BOOL_FIELDS = frozenset({"success"})
ALIASES: dict[str, tuple[str, ...]] = {
    "geoip.country_code": ("geoip.country_code", "geoip.country_code2"),
    "geoip.country_code2": ("geoip.country_code", "geoip.country_code2"),
}
OPS = ("and", "or", "not")


@st.composite
def recased(draw: st.DrawFn, text: str) -> str:
    """`text` with a random letter case per character."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.swapcase() if f else c for c, f in zip(text, flips))


@st.composite
def scalar(draw: st.DrawFn, field: str) -> Any:
    value = draw(st.sampled_from(FIELD_VALUES[field]))
    if field in BOOL_FIELDS and draw(st.booleans()):
        return draw(recased("true" if value else "false"))  # booleans may arrive as strings
    return draw(recased(value)) if isinstance(value, str) else value


@st.composite
def field_value(draw: st.DrawFn, field: str) -> Any:
    if draw(st.booleans()):
        return draw(scalar(field))
    return draw(st.lists(scalar(field), min_size=1, max_size=3))  # any of


@st.composite
def condition(draw: st.DrawFn, depth: int) -> tuple[str, Any]:
    """One (key, value): a field condition, or (while depth allows) a nested and/or/not."""
    if depth > 0 and draw(st.integers(0, 3)) == 0:
        return draw(recased(draw(st.sampled_from(OPS)))), draw(conditions(depth - 1))
    field = draw(st.sampled_from(sorted(FIELD_VALUES)))
    return draw(recased(field)), draw(field_value(field))


@st.composite
def conditions(draw: st.DrawFn, depth: int) -> list[dict[str, Any]] | dict[str, Any]:
    """Either form the contract allows: a list of single-key objects, or a map (keys distinct, ignoring case)."""
    pairs = draw(st.lists(condition(depth), min_size=1, max_size=4))
    if draw(st.booleans()):
        return [{k: v} for k, v in pairs]
    out: dict[str, Any] = {}
    for k, v in pairs:
        if all(k.lower() != other.lower() for other in out):
            out[k] = v
    return out


@st.composite
def search_terms(draw: st.DrawFn, max_depth: int = 4) -> dict[str, Any]:
    """A random valid search_term with and/or/not nested up to `max_depth` levels (the top one included)."""
    return {draw(recased(draw(st.sampled_from(OPS)))): draw(conditions(max_depth - 1))}


# --- the reference evaluator ---------------------------------------------------------------------------------


def _norm(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def raw_values(event: Any, path: str) -> list[Any]:
    """Scalars at a dot path of the raw JSON (lists along the way walked)."""
    values = [event]
    for part in path.split("."):
        nxt: list[Any] = []
        for v in values:
            for item in v if isinstance(v, list) else [v]:
                if isinstance(item, dict) and part in item:
                    nxt.append(item[part])
        values = nxt
    flat: list[Any] = []
    for v in values:
        flat.extend(v if isinstance(v, list) else [v])
    return [v for v in flat if v is not None and not isinstance(v, dict)]


def _pairs(body: Any) -> list[tuple[str, Any]]:
    if isinstance(body, list):
        return [pair for item in body for pair in item.items()]
    return list(body.items())


def _holds(key: str, value: Any, event: dict) -> bool:
    if key.lower() in OPS:
        return _op(key.lower(), value, event)
    path = key.lower()
    have = {_norm(v) for p in ALIASES.get(path, (path,)) for v in raw_values(event, p)}
    wanted = {_norm(v) for v in (value if isinstance(value, list) else [value])}
    return bool(have & wanted)


def _op(op: str, body: Any, event: dict) -> bool:
    results = [_holds(k, v, event) for k, v in _pairs(body)]
    if op == "and":
        return all(results)
    if op == "or":
        return any(results)
    return not any(results)


def reference_match(term: dict[str, Any], event: dict) -> bool:
    """Whether `event` (raw JSON) matches `term` according to the contract."""
    ((op, body),) = term.items()
    return _op(op.lower(), body, event)
