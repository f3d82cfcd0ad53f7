"""GraphQL object types: events and their Relay connection, and the directory entities they link.

Entity types carry the investigator's traversals (lifecycle, access at an instant, paths, diffs); those resolvers
live in `app.gql.traversals`, and the Cypher behind them in `graph.traversals`.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.events import Event as EventModel, parse_event
from app.filters import Node, Or, all_of, match
from app.gql.context import Context
from app.gql.filters import EventFilter, FilterError, to_filter_tree
from app.jsonutil import dumps, loads
from graph.entities import EntityNode
from graph.search import StoredEvent, count_events, find_events

MAX_PAGE = 10_000


def ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


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


@strawberry.interface(description="A directory object events touch: user, admin, group, system, application, ...")
class Entity:
    _node: strawberry.Private[EntityNode]
    id: strawberry.ID
    name: Optional[str]
    entity_type: str = strawberry.field(description="the vendor's object type, e.g. user, user_group, system")

    @strawberry.field(description="Relay global id (for `node(id:)`)")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id(self._node.label, self._node.id))

    @strawberry.field(description="events by or about this object (as actor, resource, association end or the "
                                  "system/application reached), newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> "EventConnection":
        return await events_connection(info, actor_filter(self._node.label, self._node), filter, first, after,
                                       order)

    @strawberry.field(description="Groups, members and grants joined to this object at that instant (now by "
                                  "default), in either direction, with the events that made and ended each edge.")
    async def neighbours(self, info: Info[Context, None], as_of: Optional[datetime] = None,
                         first: int = 500) -> list[Annotated["Neighbour", strawberry.lazy("app.gql.traversals")]]:
        from app.gql.filters import optional_ms
        from app.gql.traversals import convert
        from graph.traversals import neighbours

        if not 0 < first <= 10_000:
            raise FilterError("first: must be between 1 and 10000")
        ctx = info.context
        return convert(await ctx.run(neighbours, ctx.db, ctx.org, self._node.label, self._node.id,
                                     optional_ms(as_of), first))


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


async def events_connection(info: Info[Context, None], base: Node, filter: Optional[EventFilter], first: int,
                            after: Optional[str], order: Order) -> "EventConnection":
    if not 0 <= first <= MAX_PAGE:
        raise FilterError(f"first: must be between 0 and {MAX_PAGE}")
    where = all_of(base, to_filter_tree(filter))
    cursor = decode_cursor(after) if after else None
    ctx = info.context
    rows = await ctx.run(find_events, ctx.db, ctx.org, where, limit=first + 1, descending=order == Order.DESC,
                         after=cursor)
    return EventConnection(_rows=rows[:first], _more=len(rows) > first, _where=where)


@strawberry.type(description="One audit event. `raw` is the event exactly as received (plus enrichment).")
class Event:
    # Plain attributes, filled once per event: a page of 100 would otherwise run a resolver per field per event.
    _raw: strawberry.Private[dict]
    id: strawberry.ID
    event_type: str
    service: str
    timestamp: datetime = strawberry.field(description="normalised to UTC; `raw.timestamp` keeps the original text")
    organization: str
    success: Optional[bool]
    mfa: Optional[bool]
    client_ip: Optional[str]
    geo: Optional[Geo]
    changes: Optional[JSON]
    raw: JSON = strawberry.field(description="the whole event as received")

    @classmethod
    def of(cls, stored: StoredEvent) -> "Event":
        raw = loads(stored.raw)
        g = raw.get("geoip")
        geo = Geo(country_code=g.get("country_code") or g.get("country_code2"), region_name=g.get("region_name"),
                  timezone=g.get("timezone")) if isinstance(g, dict) else None
        ip, success, mfa = raw.get("client_ip"), raw.get("success"), raw.get("mfa")
        return cls(
            _raw=raw, id=strawberry.ID(stored.id), event_type=str(raw.get("event_type", "")),
            service=str(raw.get("service", "")), timestamp=ms_to_dt(stored.ts),  # type: ignore[arg-type]
            organization=str(raw.get("organization", "")), success=success if isinstance(success, bool) else None,
            mfa=mfa if isinstance(mfa, bool) else None, client_ip=ip if isinstance(ip, str) else None, geo=geo,
            changes=raw.get("changes"), raw=raw,
        )

    def _model(self) -> EventModel:
        return parse_event(self._raw)

    @strawberry.field(description="the admin or user who did it")
    async def initiated_by(self, info: Info[Context, None]) -> Optional[Entity]:
        ref = self._model().initiator
        return await _load(info, ref.label, ref.id) if ref else None

    @strawberry.field(description="the object acted on (`resource`)")
    async def target(self, info: Info[Context, None]) -> Optional[Entity]:
        ref = self._model().target
        return await _load(info, ref.label, ref.id) if ref else None

    @strawberry.field(description="the application or system an authentication reached")
    async def accessed(self, info: Info[Context, None]) -> list[Entity]:
        out = []
        for ref in self._model().accessed:
            e = await _load(info, ref.label, ref.id)
            if e is not None:
                out.append(e)
        return out

    @strawberry.field(description="association_change: both ends of the connection")
    async def connection(self, info: Info[Context, None]) -> Optional[list[Entity]]:
        conn = self._model().connection
        if conn is None:
            return None
        return [e for e in [await _load(info, r.label, r.id) for r in (conn.a, conn.b)] if e is not None]


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


async def _load(info: Info[Context, None], label: str, eid: str) -> Optional[Entity]:
    from app.gql.entities import wrap

    node = await info.context.entities(label).load(eid)
    return wrap(node) if node is not None else None
