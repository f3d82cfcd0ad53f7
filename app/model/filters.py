"""The filter tree: what both the GraphQL `EventFilter` and the REST `search_term` parse into.

Leaves carry a validated `Field` (never a raw name) and values already coerced to that field's search key, so the
one compiler in `graph/compile_filter.py` can turn any tree into parameterised Cypher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Union

from app.model.events import cidr_range
from app.model.fields import Field, lookup


@dataclass(frozen=True)
class Match:
    """The field equals any of `values` (case-insensitive for text)."""

    field: Field
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Contains:
    """The field's text contains `value` (case-insensitive)."""

    field: Field
    value: str


@dataclass(frozen=True)
class TimeRange:
    """start_ms inclusive, end_ms exclusive; either may be open."""

    start_ms: int | None = None
    end_ms: int | None = None


@dataclass(frozen=True)
class IpRange:
    """client_ip inside any of the (low, high) ip_key ranges (an address is a /32 or /128)."""

    ranges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Text:
    """Free text: any text field of the event contains `query` (case-insensitive)."""

    query: str


@dataclass(frozen=True)
class Exact:
    """Some field of the event equals `value` exactly (case-insensitive)."""

    value: str


@dataclass(frozen=True)
class Exists:
    """The field is present."""

    field: Field


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


Node = Union[Match, Contains, TimeRange, IpRange, Text, Exact, Exists, And, Or, Not]
MATCH_ALL: Node = And(())


def match(path: str, values: Any) -> Match:
    """A Match on a dot path; a list means any of its values. Raises UnknownField / ValueError."""
    field = lookup(path)
    items = values if isinstance(values, (list, tuple)) else [values]
    if not items:
        raise ValueError(f"field {field.path!r} was given an empty list")
    return Match(field, tuple(field.coerce(v) for v in items))


def ip_in(cidrs: Iterable[str]) -> IpRange:
    ranges = []
    for c in cidrs:
        try:
            ranges.append(cidr_range(c))
        except ValueError:
            raise ValueError(f"{c!r} is not an IP address or CIDR") from None
    return IpRange(tuple(ranges))


def all_of(*nodes: Node | None) -> Node:
    """And of the given nodes, flattening and dropping None / match-all."""
    items: list[Node] = []
    for n in nodes:
        if n is None or n == MATCH_ALL:
            continue
        items.extend(n.items if isinstance(n, And) else [n])
    return items[0] if len(items) == 1 else And(tuple(items))
