"""The directory entities as GraphQL types, each with its events and its neighbours in time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Callable, Optional

import strawberry
from strawberry.types import Info

from app.model.filters import match
from app.gql import result_types as tv
from app.gql.context import Context
from app.gql.filter_input import EventFilter, FilterError, check_first
from app.model.times import optional_ms, to_ms
from app.gql.event_types import EventConnection, Order, actor_filter, events_connection, global_id
from app.model.entities import vendor_type
from app.model.results import EntityNode
import graph


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
                         first: int = 500) -> list[tv.Neighbour]:
        check_first(first)
        ctx = info.context
        return tv.convert(await ctx.run(graph.neighbours, ctx.db, ctx.org, self._node.label, self._node.id,
                                     optional_ms(as_of), first))


class _Base:
    """Helpers shared by the entity types (`_node` is declared on the Entity interface)."""

    _node: EntityNode

    async def _ask(self, info: Info[Context, None], fn: Any, *args: Any) -> Any:
        """Run a graph traversal for this entity in the caller's organization (or take the answer app/gql/prefetch.py
        already asked for); GraphQL objects out."""
        ctx = info.context
        early = ctx.prefetched.pop((self._node.label, self._node.id, fn, args), None)
        return tv.convert(await early if early is not None else await ctx.run(fn, ctx.db, ctx.org, self._node.id,
                                                                              *args))


Ask = Callable[[dict[str, Any]], tuple[Any, tuple[Any, ...]]]

# Per entity label, the traversal a field asks the graph layer for, from the field's arguments by their GraphQL
# names. The resolvers ask through this table, and app/gql/prefetch.py starts the same asks while `user(id:)` is
# still looking the node up: a prefetched answer is, by construction, the one the resolver would have asked for.
ASKS: dict[str, dict[str, Ask]] = {
    "User": {
        "lifecycle": lambda a: (graph.lifecycle, (optional_ms(a.get("from")), optional_ms(a.get("to")))),
        "accessHistory": lambda a: (graph.access_history, (optional_ms(a.get("from")), optional_ms(a.get("to")))),
        "groups": lambda a: (graph.groups_as_of, (optional_ms(a.get("asOf")),)),
        "access": lambda a: (graph.access_as_of, (optional_ms(a.get("asOf")),)),
        "accessPath": lambda a: (graph.access_path, (str(a["to"]), optional_ms(a.get("asOf")))),
    },
}


def _asked(field: str, arguments: dict[str, Any]) -> tuple[Any, ...]:
    """A user field's traversal and its arguments, flat, as `_ask` takes them."""
    fn, args = ASKS["User"][field](arguments)
    return (fn, *args)


@strawberry.type
class User(_Base, Entity):
    username: Optional[str]
    email: Optional[str]


    @strawberry.field(description="The account's status at that instant (now by default): active, suspended, "
                                  "locked or deleted; null before the account was created.")
    async def status(self, info: Info[Context, None], as_of: Optional[datetime] = None) -> Optional[tv.AccountStatus]:
        ctx = info.context
        span = await ctx.run(graph.status_as_of, ctx.db, ctx.org, self._node.id, optional_ms(as_of))
        return None if span is None else tv.account_status(span)

    @strawberry.field(description="Every span of the account's status, oldest first, from its own events.")
    async def status_history(self, info: Info[Context, None]) -> list[tv.AccountStatus]:
        ctx = info.context
        return [tv.account_status(s) for s in await ctx.run(graph.status_history, ctx.db, ctx.org, self._node.id)]

    @strawberry.field(description="The user's story in order: created, updated (with changes), suspended, "
                                  "password/MFA, group and resource associations, deleted; who did it, from where.")
    async def lifecycle(self, info: Info[Context, None], from_: Annotated[Optional[datetime], strawberry.argument(
            name="from")] = None, to: Optional[datetime] = None) -> list[tv.AuditEntry]:
        return await self._ask(info, *_asked("lifecycle", {"from": from_, "to": to}))

    @strawberry.field(description="Per resource the user authenticated to: first/last seen, successes, failures, "
                                  "MFA share, countries and client IPs.")
    async def access_history(self, info: Info[Context, None], from_: Annotated[Optional[datetime],
                             strawberry.argument(name="from")] = None,
                             to: Optional[datetime] = None) -> list[tv.ResourceAccess]:
        return await self._ask(info, *_asked("accessHistory", {"from": from_, "to": to}))

    @strawberry.field(description="Groups the user was in at that instant (now by default), direct and nested.")
    async def groups(self, info: Info[Context, None], as_of: Optional[datetime] = None) -> list[tv.GroupMembership]:
        return await self._ask(info, *_asked("groups", {"asOf": as_of}))

    @strawberry.field(description="Resources the user could reach at that instant (now by default), each with "
                                  "every path that grants it.")
    async def access(self, info: Info[Context, None], as_of: Optional[datetime] = None) -> list[tv.EffectiveAccess]:
        return await self._ask(info, *_asked("access", {"asOf": as_of}))

    @strawberry.field(description="Why the user can reach that resource at that instant: every hop with the event "
                                  "that granted it, the admin who did it, when and from where. Empty: no path.")
    async def access_path(self, info: Info[Context, None], to: strawberry.ID,
                          as_of: Optional[datetime] = None) -> list[tv.AccessPath]:
        return await self._ask(info, *_asked("accessPath", {"to": to, "asOf": as_of}))

    @strawberry.field(description="Resources gained and lost between two instants, with the events that did it.")
    async def access_diff(self, info: Info[Context, None], from_: Annotated[datetime, strawberry.argument(
            name="from")], to: datetime) -> tv.AccessDiff:
        if to_ms(to) < to_ms(from_):
            raise FilterError("to: must not be before `from`")
        return await self._ask(info, graph.access_diff, to_ms(from_), to_ms(to))


@strawberry.type
class Admin(_Base, Entity):
    email: Optional[str]


    @strawberry.field(description="Everything this admin changed, newest first (logins left out unless asked).")
    async def changes(self, info: Info[Context, None], from_: Annotated[Optional[datetime], strawberry.argument(
            name="from")] = None, to: Optional[datetime] = None, first: int = 100,
            include_logins: bool = False) -> list[tv.AuditEntry]:
        check_first(first)
        return await self._ask(info, graph.admin_changes, optional_ms(from_), optional_ms(to), first,
                               include_logins)


@strawberry.type
class Group(_Base, Entity):
    kind: Optional[str] = strawberry.field(description="user or system")


    @strawberry.field(description="Members at that instant (now by default): users and nested groups of a user "
                                  "group, systems of a system group.")
    async def members(self, info: Info[Context, None], as_of: Optional[datetime] = None) -> list[tv.GroupMember]:
        return await self._ask(info, graph.members_as_of, optional_ms(as_of))


@strawberry.interface(description="A system or application users sign in to.")
class Accessible(_Base, Entity):

    @strawberry.field(description="Users who could reach it at that instant (now by default), with their paths.")
    async def who_can_access(self, info: Info[Context, None],
                             as_of: Optional[datetime] = None) -> list[tv.PrincipalAccess]:
        return await self._ask(info, graph.who_can_access, optional_ms(as_of))

    @strawberry.field(description="Users who authenticated to it in the window, with counts.")
    async def who_accessed(self, info: Info[Context, None], from_: Annotated[Optional[datetime],
                           strawberry.argument(name="from")] = None,
                           to: Optional[datetime] = None) -> list[tv.Accessor]:
        return await self._ask(info, graph.who_accessed, optional_ms(from_), optional_ms(to))


@strawberry.type
class System(Accessible):
    hostname: Optional[str]
    display_name: Optional[str]


@strawberry.type
class Application(Accessible):
    display_label: Optional[str]


@strawberry.type(description="Any other directory object (RADIUS/LDAP server, policy, command, ...)")
class Resource(_Base, Entity):
    """Its fields are the Entity interface's."""


@strawberry.type(description="A client IP address events came from")
class IPAddress:
    address: str

    @strawberry.field(description="events from this address, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await events_connection(info, match("client_ip", self.address), filter, first, after, order)


_TYPES: dict[str, Any] = {"User": User, "Admin": Admin, "Group": Group, "System": System, "Application": Application}


def wrap(node: EntityNode) -> Entity:
    """The GraphQL object for an entity node."""
    p = node.props
    common: dict[str, Any] = dict(_node=node, id=strawberry.ID(node.id), name=node.name,
                                  entity_type=vendor_type(node.label, p.get("kind"), p.get("type")))
    if node.label == "User":
        return User(**common, username=p.get("username"), email=p.get("email"))
    if node.label == "Admin":
        return Admin(**common, email=p.get("email"))
    if node.label == "Group":
        return Group(**common, kind=p.get("kind"))
    if node.label == "System":
        return System(**common, hostname=p.get("hostname"), display_name=p.get("displayName"))
    if node.label == "Application":
        return Application(**common, display_label=p.get("display_label"))
    return Resource(**common)
