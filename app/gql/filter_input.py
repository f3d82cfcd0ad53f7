"""The GraphQL `EventFilter` -> the shared filter tree (`app.model.filters`), which `graph.compile_filter` compiles
to Cypher.

The REST `search_term` parses into the same tree, so both APIs match events identically. A bad value becomes a
GraphQL error naming the filter path (e.g. `filter.or[1].clientIp`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import strawberry

from app.model.events import SERVICES, normalise_service
from app.model.fields import UnknownField
from app.model.filters import MATCH_ALL, Contains, Node, Not, Or, Text, TimeRange, all_of, ip_in, match
from app.model.fields import MAX_VALUE_LENGTH, lookup
from app.model.errors import InputError
from app.model.times import to_ms

MAX_FILTER_NODES = 1000
MAX_FILTER_DEPTH = 32


class FilterError(InputError):
    """An EventFilter that cannot be run; the message starts with the path of the offending input."""


MAX_PAGE = 10_000  # the most items one list argument (`first`) may ask for


def check_first(first: int, least: int = 1) -> int:
    """`first` within [least, MAX_PAGE], else the caller's error naming the argument."""
    if not least <= first <= MAX_PAGE:
        raise FilterError(f"first: must be between {least} and {MAX_PAGE}")
    return first


@strawberry.input(description="Who did it: any given part must match (case-insensitive).")
class InitiatorFilter:
    id: Optional[str] = None
    username: Optional[str] = None
    email: Optional[str] = None
    type: Optional[str] = strawberry.field(default=None, description="admin, user, systemuser, api, ...")


@strawberry.input(description="What it was done to: any given part must match (case-insensitive).")
class ResourceFilter:
    id: Optional[str] = None
    type: Optional[str] = None
    name: Optional[str] = strawberry.field(default=None, description="name, username, email or hostname")


@strawberry.input(description="Any field of the event by its dot path (as in the REST `search_term`).")
class FieldCondition:
    path: str = strawberry.field(description="e.g. initiated_by.username, geoip.country_code, outer.eap_type")
    values: Optional[list[str]] = strawberry.field(default=None, description="any of these values")
    contains: Optional[str] = strawberry.field(default=None, description="a substring of the value")


@strawberry.input(description="Events matching every given condition. `and`/`or`/`not` nest to any depth.")
class EventFilter:
    services: Optional[list[str]] = None
    event_types: Optional[list[str]] = None
    from_: Optional[datetime] = strawberry.field(default=None, name="from", description="inclusive")
    to: Optional[datetime] = strawberry.field(default=None, description="exclusive")
    success: Optional[bool] = None
    mfa: Optional[bool] = None
    initiator: Optional[InitiatorFilter] = None
    resource: Optional[ResourceFilter] = None
    application: Optional[str] = strawberry.field(default=None, description="application id or name")
    system: Optional[str] = strawberry.field(default=None, description="system id or hostname")
    username: Optional[str] = strawberry.field(default=None, description="the user authenticating (RADIUS, LDAP, "
                                                                         "systems) or initiating")
    client_ip: Optional[list[str]] = strawberry.field(default=None, description="addresses or CIDR ranges")
    country: Optional[list[str]] = strawberry.field(default=None, description="ISO country codes (geoip)")
    text: Optional[str] = strawberry.field(default=None, description="free text in any field (case-insensitive)")
    fields: Optional[list[FieldCondition]] = None
    and_: Optional[list["EventFilter"]] = strawberry.field(default=None, name="and")
    or_: Optional[list["EventFilter"]] = strawberry.field(default=None, name="or")
    not_: Optional[list["EventFilter"]] = strawberry.field(default=None, name="not",
                                                           description="excludes events matching any of these")


def _any(*nodes: Node) -> Node:
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


class _Builder:
    def __init__(self) -> None:
        self.count = 0

    def leaf(self, loc: str, path: str, values: Any) -> Node:
        self.count += 1
        if self.count > MAX_FILTER_NODES:
            raise FilterError(f"{loc}: the filter has more than {MAX_FILTER_NODES} conditions")
        if isinstance(values, list) and len(values) > MAX_FILTER_NODES:
            raise FilterError(f"{loc}: more than {MAX_FILTER_NODES} values")
        try:
            return match(path, values)
        except (ValueError, UnknownField) as exc:
            raise FilterError(f"{loc}: {exc}") from None

    def build(self, f: EventFilter, loc: str, depth: int) -> Node:
        if depth > MAX_FILTER_DEPTH:
            raise FilterError(f"{loc}: filters nest deeper than {MAX_FILTER_DEPTH} levels")
        parts: list[Node] = []
        if f.services is not None:
            known = []
            for s in f.services:
                s2 = normalise_service(s)
                if s2 == "all":
                    known = []
                    break
                if s2 not in SERVICES:
                    raise FilterError(f"{loc}.services: {s!r} is not one of all, {', '.join(SERVICES)}")
                known.append(s2)
            if known:
                parts.append(self.leaf(f"{loc}.services", "service", known))
        if f.event_types is not None:
            parts.append(self.leaf(f"{loc}.eventTypes", "event_type", f.event_types))
        if f.from_ is not None or f.to is not None:
            start = to_ms(f.from_) if f.from_ is not None else None
            end = to_ms(f.to) if f.to is not None else None
            if start is not None and end is not None and end <= start:
                raise FilterError(f"{loc}.to: must be after `from`")
            parts.append(TimeRange(start, end))
        if f.success is not None:
            parts.append(self.leaf(f"{loc}.success", "success", f.success))
        if f.mfa is not None:
            parts.append(self.leaf(f"{loc}.mfa", "mfa", f.mfa))
        if f.initiator is not None:
            i, where = f.initiator, f"{loc}.initiator"
            for attr, path in (("id", "initiated_by.id"), ("username", "initiated_by.username"),
                               ("email", "initiated_by.email"), ("type", "initiated_by.type")):
                if getattr(i, attr) is not None:
                    parts.append(self.leaf(f"{where}.{attr}", path, getattr(i, attr)))
        if f.resource is not None:
            r, where = f.resource, f"{loc}.resource"
            if r.id is not None:
                parts.append(self.leaf(f"{where}.id", "resource.id", r.id))
            if r.type is not None:
                parts.append(self.leaf(f"{where}.type", "resource.type", r.type))
            if r.name is not None:
                parts.append(_any(*(self.leaf(f"{where}.name", p, r.name) for p in
                                    ("resource.name", "resource.username", "resource.email"))))
        if f.application is not None:
            parts.append(_any(self.leaf(f"{loc}.application", "application.id", f.application),
                              self.leaf(f"{loc}.application", "application.name", f.application)))
        if f.system is not None:
            parts.append(_any(self.leaf(f"{loc}.system", "system.id", f.system),
                              self.leaf(f"{loc}.system", "system.hostname", f.system)))
        if f.username is not None:
            parts.append(_any(self.leaf(f"{loc}.username", "username", f.username),
                              self.leaf(f"{loc}.username", "initiated_by.username", f.username)))
        if f.client_ip is not None:
            try:
                parts.append(ip_in(f.client_ip))
            except ValueError as exc:
                raise FilterError(f"{loc}.clientIp: {exc}") from None
        if f.country is not None:
            parts.append(self.leaf(f"{loc}.country", "geoip.country_code", f.country))
        if f.text is not None and len(f.text) > MAX_VALUE_LENGTH:
            raise FilterError(f"{loc}.text: longer than {MAX_VALUE_LENGTH} characters")
        if f.text is not None and f.text.strip():
            parts.append(Text(f.text.strip().lower()))
        for i, cond in enumerate(f.fields or []):
            where = f"{loc}.fields[{i}]"
            if (cond.values is None) == (cond.contains is None):
                raise FilterError(f"{where}: give exactly one of `values` or `contains`")
            if cond.values is not None:
                parts.append(self.leaf(where, cond.path, cond.values))
            else:
                try:
                    field = lookup(cond.path)
                except UnknownField as exc:
                    raise FilterError(f"{where}.path: {exc}") from None
                if len(cond.contains) > MAX_VALUE_LENGTH:
                    raise FilterError(f"{where}.contains: longer than {MAX_VALUE_LENGTH} characters")
                self.count += 1
                parts.append(Contains(field, str(cond.contains).lower()))
        for name, items in (("and", f.and_), ("or", f.or_), ("not", f.not_)):
            if items is None:
                continue
            subs = [self.build(sub, f"{loc}.{name}[{i}]", depth + 1) for i, sub in enumerate(items)]
            if name == "and":
                parts.append(all_of(*subs))
            elif name == "or" and subs:
                parts.append(Or(tuple(subs)))
            elif name == "not" and subs:
                parts.append(Not(_any(*subs)))
        return all_of(*parts)


def to_filter_tree(f: EventFilter | None, loc: str = "filter") -> Node:
    """Raises FilterError naming the offending input path."""
    return MATCH_ALL if f is None else _Builder().build(f, loc, 1)
