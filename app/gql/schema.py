"""The GraphQL schema: root fields, the ingest mutation, the live subscription, and the guard rails
(depth, alias and token limits, a page cap, masked internal errors)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, AsyncGenerator, Optional

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.scalars import JSON
from strawberry.utils.logging import StrawberryLogger
from strawberry.types import Info

from app.model.entities import normalise_ip
from app.model.fields import UnknownField, lookup
from app.gql.context import Context, Forbidden
from app.gql.entity_types import Admin, Application, Entity, Group, IPAddress, System, User, wrap
from app.gql.executor import FastExecutor
from app.gql.prefetch import prefetch
from app.gql.report_types import ConsoleQuery
from app.gql import result_types as tv
from app.gql.filter_input import EventFilter, FilterError, check_first, to_filter_tree
from app.http_errors import INTERNAL_MESSAGE
from app.model.errors import InputError
from app.model.times import (MAX_INTERVAL_VALUE, UNIT_MS, bucket_origin, ms_to_dt, offset_ms, optional_ms,
                              parse_utc_offset)
import graph
from app.gql.event_types import Event, EventConnection, Order, events_connection, parse_global_id
from app.model.filters import MATCH_ALL
from app.gql.poller import HUB, LOOKBACK_MS, SubscriptionEnded
from app.gql.offload import OffLoopValidation
from app.ingest import IngestInterrupted
from app.ingest.records import Record, index_of
from graph.search import (count_events, distinct_values, event_histogram,
                          find_events)

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_INGEST = 10_000


@strawberry.type
class HistogramBucket:
    start: datetime
    count: int


@strawberry.type
class DistinctBucket:
    value: JSON
    count: int


@strawberry.type
class DistinctResult:
    buckets: list[DistinctBucket]
    other_count: int = strawberry.field(description="events whose value is beyond the returned buckets")


@strawberry.type
class IngestItem:
    index: int
    id: Optional[str]
    status: str = strawberry.field(description="accepted, duplicate or rejected")
    reason: Optional[str]


@strawberry.type
class IngestResult:
    accepted: int
    duplicates: int
    rejected: int
    results: list[IngestItem]


def _interval(text: str) -> tuple[str, int]:
    """(unit, width in ms) of an interval such as "15m" or "1d"."""
    t = text.strip()
    if len(t) >= 2 and t[-1] in UNIT_MS and t[:-1].isdigit() and 0 < int(t[:-1]) <= MAX_INTERVAL_VALUE:
        return t[-1], int(t[:-1]) * UNIT_MS[t[-1]]
    raise FilterError(f"interval: {text!r} is not a number and a unit (s, m, h, d, w), e.g. \"15m\" or \"1d\"")


def _tz_offset_ms(text: str) -> int:
    try:
        return offset_ms(parse_utc_offset(text))
    except InputError as exc:
        raise FilterError(str(exc)) from None


async def _entity(info: Info[Context, None], label: str, **by: Optional[str]) -> Optional[Entity]:
    if not any(v is not None for v in by.values()):
        raise FilterError(f"{label.lower()}: give one of {', '.join(by)}")
    ctx = info.context
    node = await ctx.run(graph.find_entity, ctx.db, ctx.org, label, **by)
    return wrap(node) if node is not None else None


@strawberry.type
class Query(ConsoleQuery):
    @strawberry.field(description="Events matching the filter, keyset-paged on (timestamp, id).")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await events_connection(info, MATCH_ALL, filter, first, after, order)

    @strawberry.field
    async def event_count(self, info: Info[Context, None], filter: Optional[EventFilter] = None) -> int:
        ctx = info.context
        return await ctx.run(count_events, ctx.db, ctx.org, to_filter_tree(filter))

    @strawberry.field(description="Events per time bucket, e.g. interval \"1h\", timezone \"-0500\".")
    async def event_histogram(self, info: Info[Context, None], interval: str, filter: Optional[EventFilter] = None,
                              timezone_: Annotated[Optional[str], strawberry.argument(name="timezone")] = None
                              ) -> list[HistogramBucket]:
        unit, width = _interval(interval)
        offset = _tz_offset_ms(timezone_ or "Z")
        where = to_filter_tree(filter)
        ctx = info.context
        try:
            rows = await ctx.run(event_histogram, ctx.db, ctx.org, where, width, bucket_origin(unit, offset))
        except ValueError as exc:
            raise FilterError(f"interval: {exc}; use a wider interval or a narrower filter") from None
        return [HistogramBucket(start=ms_to_dt(b), count=n) for b, n in rows if n]

    @strawberry.field(description="The most frequent values of a field (a dot path, as in the REST API).")
    async def event_distinct(self, info: Info[Context, None], field: str, filter: Optional[EventFilter] = None,
                             first: int = 100) -> DistinctResult:
        try:
            f = lookup(field)
        except UnknownField as exc:
            raise FilterError(f"field: {exc}") from None
        check_first(first)
        ctx = info.context
        buckets, other = await ctx.run(distinct_values, ctx.db, ctx.org, to_filter_tree(filter), f, first)
        return DistinctResult(buckets=[DistinctBucket(value=v, count=n) for v, n in buckets], other_count=other)

    @strawberry.field
    async def event(self, info: Info[Context, None], id: strawberry.ID) -> Optional[Event]:
        from app.model.filters import match

        ctx = info.context
        rows = await ctx.run(find_events, ctx.db, ctx.org, match("id", str(id)), limit=1)
        return Event.of(rows[0]) if rows else None

    @strawberry.field(description="Any entity by its Relay global id (`globalId`).")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Optional[Entity]:
        label, key = parse_global_id(str(id))
        from app.model.events import ENTITY_LABELS

        if label not in ENTITY_LABELS:
            return None
        node = await info.context.entities(label).load(key)
        return wrap(node) if node is not None else None

    @strawberry.field
    async def user(self, info: Info[Context, None], id: Optional[strawberry.ID] = None,
                   username: Optional[str] = None, email: Optional[str] = None,
                   as_of: Annotated[Optional[datetime], strawberry.argument(
                       description="with username or email: whoever held that name (any letter case) at that "
                                   "instant; now by default")] = None) -> Optional[User]:
        if id is None and (username or email):
            ctx = info.context
            kind, name = ("username", username) if username else ("email", email)
            held = await ctx.run(graph.holder_of, ctx.db, ctx.org, kind, name, optional_ms(as_of))
            if held is not None or as_of is not None:
                return None if held is None else await _entity(info, "User", id=held)  # type: ignore[return-value]
        if id is not None and username is None and email is None:
            # its traversals start now, the first one looking the user up too (app/gql/prefetch.py)
            looked_up = prefetch(info, "User", str(id))
            if looked_up is not None:
                node = await looked_up
                return wrap(node) if node is not None else None  # type: ignore[return-value]
        return await _entity(info, "User", id=id, username=username, email=email)  # type: ignore[return-value]

    @strawberry.field
    async def admin(self, info: Info[Context, None], id: Optional[strawberry.ID] = None,
                    email: Optional[str] = None) -> Optional[Admin]:
        return await _entity(info, "Admin", id=id, email=email)  # type: ignore[return-value]

    @strawberry.field
    async def group(self, info: Info[Context, None], id: Optional[strawberry.ID] = None,
                    name: Optional[str] = None) -> Optional[Group]:
        return await _entity(info, "Group", id=id, name=name)  # type: ignore[return-value]

    @strawberry.field
    async def system(self, info: Info[Context, None], id: Optional[strawberry.ID] = None,
                     hostname: Optional[str] = None) -> Optional[System]:
        return await _entity(info, "System", id=id, hostname=hostname)  # type: ignore[return-value]

    @strawberry.field
    async def application(self, info: Info[Context, None], id: Optional[strawberry.ID] = None,
                          name: Optional[str] = None) -> Optional[Application]:
        return await _entity(info, "Application", id=id, name=name)  # type: ignore[return-value]

    @strawberry.field
    async def ip_address(self, info: Info[Context, None], address: str) -> Optional[IPAddress]:
        ctx = info.context
        found = await ctx.run(graph.has_ip, ctx.db, ctx.org, address)
        return IPAddress(address=normalise_ip(address)) if found else None

    @strawberry.field(description="Users with at least `threshold` failed authentications within `window` "
                                  "(e.g. \"10m\").")
    async def failed_login_bursts(self, info: Info[Context, None], window: str, threshold: int = 5,
                                  from_: Annotated[Optional[datetime], strawberry.argument(name="from")] = None,
                                  to: Optional[datetime] = None) -> list[tv.FailedLoginBurst]:
        if not 1 < threshold <= 10_000:
            raise FilterError("threshold: must be between 2 and 10000")
        ctx = info.context
        return tv.convert(await ctx.run(graph.failed_login_bursts, ctx.db, ctx.org, _interval(window)[1],
                                        threshold, optional_ms(from_), optional_ms(to)))

    @strawberry.field(description="Names sign-ins in the window used that no account held at their instant "
                                  "(unknown, deleted or renamed-away accounts), with counts.")
    async def unresolved_identities(self, info: Info[Context, None], from_: Annotated[
            Optional[datetime], strawberry.argument(name="from")] = None, to: Optional[datetime] = None,
            first: int = 100) -> list[tv.UnresolvedIdentity]:
        if not 1 <= first <= 10_000:
            raise FilterError("first: must be between 1 and 10000")
        ctx = info.context
        return tv.convert(await ctx.run(graph.unresolved_identities, ctx.db, ctx.org, optional_ms(from_),
                                        optional_ms(to), first))

    @strawberry.field(description="Successful logins to a resource after the user's path to it ended, or after "
                                  "the user was suspended or deleted.")
    async def access_after_revocation(self, info: Info[Context, None], from_: Annotated[
            Optional[datetime], strawberry.argument(name="from")] = None,
            to: Optional[datetime] = None) -> list[tv.AccessAfterRevocation]:
        ctx = info.context
        return tv.convert(await ctx.run(graph.access_after_revocation, ctx.db, ctx.org, optional_ms(from_),
                                        optional_ms(to)))

    @strawberry.field(description="Successful logins from a country the user had never logged in from before.")
    async def new_country_logins(self, info: Info[Context, None], from_: Annotated[
            Optional[datetime], strawberry.argument(name="from")] = None,
            to: Optional[datetime] = None) -> list[tv.NewCountryLogin]:
        ctx = info.context
        return tv.convert(await ctx.run(graph.new_country_logins, ctx.db, ctx.org, optional_ms(from_),
                                        optional_ms(to)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Ingest events through the same pipeline as the CLI (scope: ingest). "
                                     "Idempotent by event id; each event gets its own result.")
    async def ingest_events(self, info: Info[Context, None], events: list[JSON]) -> IngestResult:
        ctx = info.context
        ctx.require("ingest")
        if len(events) > MAX_INGEST:
            raise FilterError(f"events: at most {MAX_INGEST} per call")
        records = [Record(f"index {i}", ev) for i, ev in enumerate(events)]
        try:
            summary = await ctx.run(ctx.services.ingest, ctx.org, records)
        except IngestInterrupted as exc:  # say exactly what was stored; the rest was not
            stored = exc.summary
            if getattr(ctx, "request_state", None) is not None:
                ctx.request_state.pop("neo4j_unavailable", None)  # answered here, with the counts, not as a bare 503
            done = sorted(index_of(where) for where, _, _ in stored.results or [])
            raise IngestStopped(
                f"the database failed during ingest: {stored.accepted} accepted, {stored.duplicates} duplicates and "
                f"{len(stored.rejected)} rejected before it (indexes {_ranges(done) or 'none'}); the other events "
                f"were not stored: retry the same call (stored events count as duplicates)") from None
        reasons = {r.where: r.reason for r in summary.rejected}
        items = [IngestItem(index=index_of(where), id=eid or None, status=status, reason=reasons.get(where))
                 for where, eid, status in summary.results or []]
        items.sort(key=lambda item: item.index)
        return IngestResult(accepted=summary.accepted, duplicates=summary.duplicates,
                            rejected=len(summary.rejected), results=items)


class IngestStopped(Exception):
    """The ingest mutation cut short by the database: the message says what was stored."""


def _ranges(indexes: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    out: list[str] = []
    for i in indexes:
        if out and out[-1].split("-")[-1] == str(i - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{i}"
        else:
            out.append(str(i))
    return ", ".join(out)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Events as they are stored (by any ingest path), matching the filter.")
    async def event_added(
        self, info: Info[Context, None], filter: Optional[EventFilter] = None,
        resume_after: Annotated[Optional[strawberry.ID], strawberry.argument(description=(
            "the id of the last event this client received: the events stored since then come first, then the live "
            f"ones, so a reconnect misses none (one stored up to {LOOKBACK_MS // 1000} s before it may come again: "
            "deduplicate by id)"))]
        = None,
    ) -> AsyncGenerator[Event, None]:
        ctx = info.context
        where = to_filter_tree(filter)
        try:
            async for ev in HUB.subscribe(ctx.db, ctx.org, ctx.principal.key.id, where,  # type: ignore[union-attr]
                                          resume_after):
                yield Event.of(ev)
        except SubscriptionEnded as exc:  # revoked key, too many subscriptions, fell behind: said to the client
            raise FilterError(str(exc)) from None


def _visible(error: GraphQLError) -> bool:
    """Errors the caller caused (bad filter, scope, validation, a variable that does not coerce) are shown;
    anything else is masked."""
    original = error.original_error
    if error.path is None and error.message.startswith("Variable '$"):
        return True  # graphql-core's coercion of a variable: the client's value, named in the message
    return original is None or isinstance(original, (InputError, Forbidden, IngestStopped))


class _Schema(strawberry.Schema):
    async def execute(self, query: Any, variable_values: Any = None, context_value: Any = None,  # type: ignore[override]
                      root_value: Any = None, operation_name: Any = None, allowed_operation_types: Any = None,
                      operation_extensions: Any = None) -> Any:
        """`execute` answers queries and mutations; a subscription sent over HTTP is the client's error (it needs
        a WebSocket), not a field resolved to null."""
        from strawberry.schema.exceptions import InvalidOperationTypeError
        from strawberry.types import ExecutionResult
        from strawberry.types.graphql import OperationType

        allowed = set(allowed_operation_types or (OperationType.QUERY, OperationType.MUTATION)) - \
            {OperationType.SUBSCRIPTION}
        try:
            return await super().execute(query, variable_values, context_value, root_value, operation_name,
                                         allowed, operation_extensions)
        except InvalidOperationTypeError as exc:
            if exc.operation_type != OperationType.SUBSCRIPTION:
                raise
            return ExecutionResult(data=None, errors=[GraphQLError(
                "subscriptions need a WebSocket at /graphql (graphql-transport-ws or graphql-ws), not HTTP")])

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log what went wrong inside (masked to the caller), not every bad query a client sends."""
        for error in errors:
            if not _visible(error):
                StrawberryLogger.error(error, execution_context)


# Errors the caller did not cause are masked: one configuration, for the schema's extension (made per request) and
# for app.gql.fast_http, which applies the same rule.
MASK_ERRORS = MaskErrors(should_mask_error=lambda e: not _visible(e), error_message=INTERNAL_MESSAGE)

schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[User, Admin, Group, System, Application],
    execution_context_class=FastExecutor,
    extensions=[
        # parsing (token bound), validation, introspection nesting, depth, aliases and cost (app.gql.cost), off the
        # event loop; one extension, not one per rule: strawberry enters every extension's hooks for every request
        OffLoopValidation,
        lambda: MaskErrors(should_mask_error=MASK_ERRORS.should_mask_error, error_message=MASK_ERRORS.error_message),
    ],
)
