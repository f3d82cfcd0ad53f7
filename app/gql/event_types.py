"""GraphQL object types: events and their Relay connection, and the directory entities they link.

Entity types carry the investigator's traversals (lifecycle, access at an instant, paths, diffs); those resolvers
live in `app.gql.result_types`, and the Cypher behind them in `graph.traversals`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from app.model.events import Event as EventModel, EventHeadline, parse_event
from app.model.filters import Node, Or, all_of, match
from app.gql.context import Context
from app.gql.filter_input import EventFilter, FilterError, check_first, to_filter_tree
from app.model.jsonutil import dumps, loads
from app.model.times import ms_to_dt
from app.model.results import EntityNode
from graph.search import StoredEvent, count_events, find_events

if TYPE_CHECKING:
    from app.gql.entity_types import Entity



def global_id(kind: str, key: str) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


def parse_global_id(gid: str) -> tuple[str, str]:
    try:
        kind, _, key = base64.b64decode(gid.encode(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise FilterError(f"id: {gid!r} is not a global id from this API") from None
    if not key:
        raise FilterError(f"id: {gid!r} is not a global id from this API")
    return kind, key


def encode_cursor(ts: int, eid: str) -> str:
    return base64.urlsafe_b64encode(dumps([ts, eid]).encode()).decode()


def decode_cursor(cursor: str, loc: str = "after") -> tuple[int, str]:
    try:
        ts, eid = loads(base64.urlsafe_b64decode(cursor.encode()))
        if isinstance(ts, int) and not isinstance(ts, bool) and -(2**63) <= ts < 2**63 and isinstance(eid, str):
            return ts, eid
    except (binascii.Error, ValueError, TypeError):
        pass
    raise FilterError(f"{loc}: not a cursor from this API")


# The Entity interface lives with its implementations (app.gql.entity_types), which import this module.
EntityType = Annotated["Entity", strawberry.lazy("app.gql.entity_types")]


@strawberry.enum
class Order(Enum):
    DESC = "DESC"
    ASC = "ASC"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


@strawberry.type
class Geo:
    country_code: Optional[str]
    region_name: Optional[str]
    timezone: Optional[str]


def actor_filter(label: str, node: EntityNode) -> Node:
    """Events about an entity: it initiated, was the resource, one end of an association, or was accessed."""
    eid = node.id
    paths = ["resource.id", "association.connection.from.object_id", "association.connection.to.object_id"]
    if label in ("User", "Admin"):
        paths.append("initiated_by.id")
    if label == "Application":
        paths.append("application.id")
    if label == "System":
        paths.append("system.id")
    items: list[Node] = [match(p, eid) for p in paths]
    if label == "User" and node.props.get("username"):
        items.append(match("username", node.props["username"]))
    return Or(tuple(items))


# The Event fields an EventHeadline answers: a page asking its events for nothing else is read without their JSON.
_HEADLINE_FIELDS = frozenset({"__typename", "id", "timestamp", "organization", "eventType", "service", "success",
                             "mfa", "clientIp"})


def _fields(selections: list[Any]) -> Iterator[SelectedField]:
    for s in selections:  # fragments (spread or inline: on Event, the only type there) flattened
        if isinstance(s, SelectedField):
            yield s
        else:
            yield from _fields(s.selections)


def headline_suffices(info: Info[Context, None]) -> bool:
    """Whether this connection field asks its events (`edges { node }`, `nodes`) only for headline fields."""
    for connection in info.selected_fields:
        for field in _fields(connection.selections):
            nodes = [f for f in _fields(field.selections) if f.name == "node"] if field.name == "edges" else \
                [field] if field.name == "nodes" else []
            if any(f.name not in _HEADLINE_FIELDS for node in nodes for f in _fields(node.selections)):
                return False
    return True


async def events_connection(info: Info[Context, None], base: Node, filter: Optional[EventFilter], first: int,
                            after: Optional[str], order: Order) -> "EventConnection":
    check_first(first, least=0)
    where = all_of(base, to_filter_tree(filter))
    cursor = decode_cursor(after) if after else None
    ctx = info.context
    rows = await ctx.run(find_events, ctx.db, ctx.org, where, limit=first + 1, descending=order == Order.DESC,
                         after=cursor, headline=headline_suffices(info))
    return EventConnection(_rows=rows[:first], _more=len(rows) > first, _where=where)


@strawberry.type(description="One audit event. `raw` is the event exactly as received (plus enrichment).")
class Event:
    # Plain attributes, filled once per event: a page of 100 would otherwise run a resolver per field per event.
    _raw: strawberry.Private[dict]
    id: strawberry.ID
    event_type: str = strawberry.field(description="lower case; `raw.event_type` keeps the original spelling")
    service: str = strawberry.field(description="normalised (lower case, vendor aliases folded); `raw.service` "
                                                "keeps the original")
    timestamp: datetime = strawberry.field(description="normalised to UTC; `raw.timestamp` keeps the original text")
    organization: str
    success: Optional[bool]
    mfa: Optional[bool]
    client_ip: Optional[str] = strawberry.field(description="as the `client_ip` filter matches it (lower case); "
                                                            "`raw.client_ip` keeps the original")
    geo: Optional[Geo]
    changes: Optional[JSON]
    raw: JSON = strawberry.field(description="the whole event as received")

    @classmethod
    def of(cls, stored: StoredEvent) -> "Event":
        """A page's event: from its stored JSON, or from its node's headline when the page read only that
        (`headline_suffices`); the fields both answer have the same values either way (`EventHeadline.of`). Built
        without the dataclass `__init__`; a headline's event has no `raw`, `geo`, `changes` (never selected then:
        reading one is an error, not a silent null)."""
        event = object.__new__(cls)
        values = event.__dict__
        if stored.raw is None:
            headline = stored.headline
            assert headline is not None
        else:
            raw = loads(stored.raw)
            headline = EventHeadline.of(raw)
            g = raw.get("geoip")
            values.update(_raw=raw, raw=raw, changes=raw.get("changes"), geo=Geo(
                country_code=g.get("country_code") or g.get("country_code2"), region_name=g.get("region_name"),
                timezone=g.get("timezone")) if isinstance(g, dict) else None)
        values.update(id=stored.id, event_type=headline.event_type, service=headline.service,
                      timestamp=ms_to_dt(stored.ts), organization=headline.organization, success=headline.success,
                      mfa=headline.mfa, client_ip=headline.client_ip)
        return event

    def _model(self) -> EventModel:
        return parse_event(self._raw)

    @strawberry.field(description="the admin or user who did it")
    async def initiated_by(self, info: Info[Context, None]) -> Optional[EntityType]:
        ref = self._model().initiator
        return await info.context.entity(ref.label, ref.id) if ref else None

    @strawberry.field(description="the object acted on (`resource`)")
    async def target(self, info: Info[Context, None]) -> Optional[EntityType]:
        ref = self._model().target
        return await info.context.entity(ref.label, ref.id) if ref else None

    @strawberry.field(description="the application or system an authentication reached")
    async def accessed(self, info: Info[Context, None]) -> list[EntityType]:
        out = []
        for ref in self._model().accessed:
            e = await info.context.entity(ref.label, ref.id)
            if e is not None:
                out.append(e)
        return out

    @strawberry.field(description="association_change: both ends of the connection")
    async def connection(self, info: Info[Context, None]) -> Optional[list[EntityType]]:
        conn = self._model().connection
        if conn is None:
            return None
        return [e for e in [await info.context.entity(r.label, r.id) for r in (conn.a, conn.b)] if e is not None]


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class EventConnection:
    _rows: strawberry.Private[list[StoredEvent]]
    _more: strawberry.Private[bool]
    _where: strawberry.Private[Node]

    @strawberry.field
    def edges(self) -> list[EventEdge]:
        return [EventEdge(cursor=encode_cursor(r.ts, r.id), node=Event.of(r)) for r in self._rows]

    @strawberry.field
    def nodes(self) -> list[Event]:
        return [Event.of(r) for r in self._rows]

    @strawberry.field
    def page_info(self) -> PageInfo:
        end = encode_cursor(*self._rows[-1].cursor) if self._rows else None
        return PageInfo(has_next_page=self._more, end_cursor=end)

    @strawberry.field(description="all events matching the filter (one count query, run only when asked for)")
    async def total_count(self, info: Info[Context, None]) -> int:
        ctx = info.context
        return await ctx.run(count_events, ctx.db, ctx.org, self._where)
