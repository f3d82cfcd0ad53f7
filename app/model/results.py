"""The read model: frozen results that graph/ traversals return and the entrypoints map (GraphQL types, CSV).
Times are epoch milliseconds; `until` None means still open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.model.entities import EntityRef, display_name, vendor_type
from app.model.events import SERVICE_NAMES


@dataclass(frozen=True, slots=True)
class Ref:
    """A directory object. `label` is the node label (User, Admin, Group, System, Application, RadiusServer,
    LdapServer, Policy, Command, Organization, Resource, IPAddress; or Service for a service pseudo-resource);
    `type` the vendor's object type (user, user_group, system_group, system, application, radius_server, ...;
    the service name for a Service)."""

    label: str
    type: str
    id: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who initiated an event, as the event itself recorded it (`type`: admin, user, systemuser, api, ...)."""

    type: str
    id: str | None
    email: str | None
    username: str | None

    @property
    def name(self) -> str | None:
        return self.email or self.username or self.id


@dataclass(frozen=True, slots=True)
class EventRef:
    """Enough of an event to explain a change: when, what, by whom, from where."""

    id: str
    ts: int
    event_type: str
    service: str
    initiator: Actor | None
    client_ip: str | None
    country: str | None  # ISO code, upper case
    success: bool | None


@dataclass(frozen=True, slots=True)
class Hop:
    """One interval relationship on a path. `source`/`target` are the edge's real direction (so the last hop of a
    system-group path reads "system MEMBER_OF system group"); hops are listed from the user towards the resource."""

    source: Ref
    target: Ref
    relationship: str  # MEMBER_OF | HAS_ACCESS_TO
    since: int
    until: int | None  # None while still valid
    granted_by_event: str
    revoked_by_event: str | None
    granted_by: EventRef | None  # None only if the granting event is not stored
    revoked_by: EventRef | None


@dataclass(frozen=True, slots=True)
class AccessPath:
    """A chain of hops all valid at the instant asked about. `kind`: direct | group | nested_group, with
    "+system_group" appended when it ends through a system group (for memberships: direct | nested).
    `since`/`until`: the span in which every hop of this chain was valid together (until None: open)."""

    hops: tuple[Hop, ...]
    kind: str
    since: int
    until: int | None
    blocked_by: str | None = None  # accessPath only: the account's blocking status at the instant
    effective: bool | None = None  # accessPath only: not blocked (None where the enclosing result says)


@dataclass(frozen=True, slots=True)
class EffectiveAccess:
    """A resource the user could reach, with every grant path. `status` is the account's at that instant; access
    of a suspended, locked or deleted account is entitled but not effective (`blocked_by` says why)."""

    resource: Ref
    paths: tuple[AccessPath, ...]
    status: str | None = None
    blocked_by: str | None = None
    effective: bool = True


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """A group the user belonged to; `depth` 1 is direct, more is through nested groups (shortest path)."""

    group: Ref
    direct: bool
    depth: int
    paths: tuple[AccessPath, ...]


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A member of a group at the instant: a user, a nested group, or a system (system groups)."""

    member: Ref
    direct: bool
    depth: int
    paths: tuple[AccessPath, ...]


@dataclass(frozen=True, slots=True)
class PrincipalAccess:
    """A user who could reach a resource, with every grant path (`status`, `blocked_by`, `effective`: as for
    EffectiveAccess)."""

    user: Ref
    paths: tuple[AccessPath, ...]
    status: str | None = None
    blocked_by: str | None = None
    effective: bool = True


@dataclass(frozen=True, slots=True)
class AccessChange:
    """A resource gained or lost between two instants; `events` caused it (granting events for a gain, revoking
    events for a loss, oldest first); `paths` are the paths at the instant the resource was reachable."""

    resource: Ref
    events: tuple[EventRef, ...]
    paths: tuple[AccessPath, ...]


@dataclass(frozen=True, slots=True)
class AccessDiff:
    from_ms: int
    to_ms: int
    gained: tuple[AccessChange, ...]
    lost: tuple[AccessChange, ...]
    from_status: str | None = None  # the account's status at each instant
    to_status: str | None = None


@dataclass(frozen=True, slots=True)
class UnresolvedIdentity:
    """A name sign-ins used that no account held at their instants (unknown, deleted, renamed away)."""

    kind: str  # username | email
    name: str
    attempts: int
    failures: int
    first_seen: int
    last_seen: int
    services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of an event's `changes` (values as the vendor sent them: scalars, lists or objects)."""

    field: str
    from_value: Any
    to_value: Any


@dataclass(frozen=True, slots=True)
class Association:
    """An association_change: `op` on source->target, and the interval relationship it maintains (None when the
    pair maintains none)."""

    op: str
    source: Ref
    target: Ref
    relationship: str | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event of a user's lifecycle or an admin's changes. `kind`: created, updated, suspended, unsuspended,
    activated, deleted, password, mfa, locked, unlocked, admin_granted, admin_revoked, login,
    association_added, association_removed, association_updated, other.
    `counterpart`: for a lifecycle association, the endpoint that is not the user."""

    id: str
    ts: int
    event_type: str
    service: str
    kind: str
    initiator: Actor | None
    target: Ref | None
    client_ip: str | None
    country: str | None
    success: bool | None
    changes: tuple[Change, ...]
    association: Association | None
    counterpart: Ref | None


@dataclass(frozen=True, slots=True)
class ResourceAccess:
    """A user's authentications to one resource in a window."""

    resource: Ref
    first_seen: int
    last_seen: int
    last_success: int | None
    attempts: int
    successes: int
    failures: int
    mfa_share: float  # share of attempts made with MFA, 0..1
    countries: tuple[str, ...]
    client_ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Accessor:
    """Who authenticated to a resource in a window. `user` is None for a username no user has (e.g. "root")."""

    user: Ref | None
    username: str | None
    first_seen: int
    last_seen: int
    last_success: int | None
    attempts: int
    successes: int
    failures: int
    mfa_share: float
    countries: tuple[str, ...]
    client_ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FailedLoginBurst:
    """A run of failed authentications of one user where every failure lies in a window of `window_ms` holding at
    least `threshold` of them."""

    user: Ref | None
    username: str | None
    start: int
    end: int
    count: int
    client_ips: tuple[str, ...]
    countries: tuple[str, ...]
    services: tuple[str, ...]
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RevocationReason:
    """kind: access_revoked (no valid path at the login, but one earlier), user_suspended, user_locked, user_deleted;
    `at`: when that started; `event`: the event that caused it."""

    kind: str
    at: int
    event: EventRef | None


@dataclass(frozen=True, slots=True)
class AccessAfterRevocation:
    event: EventRef
    user: Ref
    resource: Ref
    reasons: tuple[RevocationReason, ...]


@dataclass(frozen=True, slots=True)
class NewCountryLogin:
    """The first successful login of a user from `country`, when the user had logged in from elsewhere before."""

    event: EventRef
    user: Ref | None
    username: str | None
    country: str
    previous_countries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntityNode:
    """An entity node: label, id (an IPAddress's address) and its stored properties (write bookkeeping left out)."""

    label: str
    id: str
    props: dict[str, Any]

    @property
    def name(self) -> str | None:
        return display_name(self.props)

    @property
    def ref(self) -> Ref:
        return Ref(self.label, vendor_type(self.label, self.props.get("kind"), self.props.get("type")), self.id,
                   self.name)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An entity joined to another by an interval relationship valid at the instant; `direction` is "out" when
    the asked-about entity is the edge's source."""

    relationship: str
    direction: str
    node: Ref
    since: int
    until: int | None
    granted_by_event: str
    revoked_by_event: str | None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One way a user held a group membership or reached a resource at the instant. `granted_by` is the event of
    the path's most recent hop: the change that completed this path (None if that event is not stored)."""

    user: Ref
    target: Ref
    path: AccessPath
    granted_by: EventRef | None


def entity_ref(e: EntityRef) -> Ref:
    """The read-model reference of an entity an event names."""
    return Ref(e.label, vendor_type(e.label, e.props.get("kind"), e.type), e.id, e.props.get("name"))


def ref_sort_key(ref: Ref) -> tuple[str, str, str]:
    """Results list entities by label, then name (ignoring case), then id."""
    return (ref.label, (ref.name or "").lower(), ref.id)


def service_ref(service: str) -> Ref:
    """An authentication that names no application or system reached the service itself: a Service pseudo-resource."""
    return Ref("Service", service, service, SERVICE_NAMES.get(service, service))
