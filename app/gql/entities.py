"""The directory entities as GraphQL types, each with its events and its neighbours in time."""

from __future__ import annotations

from typing import Any, Optional

import strawberry
from strawberry.types import Info

from app.gql.context import Context
from app.gql.filters import EventFilter
from app.gql.types import Entity, EventConnection, Order, actor_filter, events_connection, global_id
from app.filters import match
from graph.entities import EntityNode


class _Base:
    """Helpers shared by the entity types (`_node` is declared on the Entity interface)."""

    _node: EntityNode

    def _p(self, key: str) -> Optional[str]:
        v = self._node.props.get(key)
        return v if isinstance(v, str) else None

    async def _events(self, info: Info[Context, None], filter: Optional[EventFilter], first: int,
                      after: Optional[str], order: Order) -> EventConnection:
        return await events_connection(info, actor_filter(self._node.label, self._node), filter, first, after, order)


@strawberry.type
class User(_Base, Entity):
    username: Optional[str]
    email: Optional[str]

    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("User", self._node.id))

    @strawberry.field(description="events by or about this user, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


@strawberry.type
class Admin(_Base, Entity):
    email: Optional[str]

    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Admin", self._node.id))

    @strawberry.field(description="events by or about this admin, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


@strawberry.type
class Group(_Base, Entity):
    kind: Optional[str] = strawberry.field(description="user or system")

    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Group", self._node.id))

    @strawberry.field(description="events about this group, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


@strawberry.type
class System(_Base, Entity):
    hostname: Optional[str]
    display_name: Optional[str]

    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("System", self._node.id))

    @strawberry.field(description="events about or on this system, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


@strawberry.type
class Application(_Base, Entity):
    display_label: Optional[str]

    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Application", self._node.id))

    @strawberry.field(description="events about or into this application, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


@strawberry.type(description="Any other directory object (RADIUS/LDAP server, policy, command, ...)")
class Resource(_Base, Entity):
    @strawberry.field(description="Relay global id")
    def global_id(self) -> strawberry.ID:
        return strawberry.ID(global_id(self._node.label, self._node.id))

    @strawberry.field(description="events about this object, newest first")
    async def events(self, info: Info[Context, None], filter: Optional[EventFilter] = None, first: int = 100,
                     after: Optional[str] = None, order: Order = Order.DESC) -> EventConnection:
        return await self._events(info, filter, first, after, order)


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
                                  entity_type=str(p.get("type") or _vendor_type(node)))
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


def _vendor_type(node: EntityNode) -> str:
    if node.label == "Group":
        return "system_group" if node.props.get("kind") == "system" else "user_group"
    return {"RadiusServer": "radius_server", "LdapServer": "ldap_server"}.get(node.label, node.label.lower())
