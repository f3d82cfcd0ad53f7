"""GraphQL types for the investigator's questions: lifecycle, access at an instant and the paths that grant it,
diffs, who could reach / did reach a resource, and the investigation helpers.

Each type mirrors a frozen dataclass of `app.model.results` (graph/ fills them); `convert` maps one onto the
other, turning epoch-ms fields into DateTimes.
"""

from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any, Callable, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from app.gql.executor import SHARED
from app.model import results as t
from app.model.entities import ENTITY_LABELS
from app.gql.context import Context
from app.gql.event_types import EntityType
from app.model.intervals import LO
from app.model.times import ms_to_dt

TIME_FIELDS = {"ts", "since", "until", "first_seen", "last_seen", "last_success", "start", "end", "at", "from_ms",
               "to_ms"}
RENAMED = {"ts": "timestamp", "from_ms": "from_", "to_ms": "to", "from_value": "from_", "to_value": "to"}


@strawberry.type(description="A directory object as a traversal saw it; `entity` loads its node.")
class ObjectRef:
    label: str = strawberry.field(description="node label (User, Group, System, Application, ...) or Service")
    type: str = strawberry.field(description="the vendor's object type, e.g. user_group, system, application")
    id: strawberry.ID
    name: Optional[str]

    @strawberry.field
    async def entity(self, info: Info[Context, None]) -> Optional[EntityType]:
        if self.label not in ENTITY_LABELS:
            return None
        return await info.context.entity(self.label, str(self.id))


@strawberry.type
class Actor:
    type: str
    id: Optional[str]
    email: Optional[str]
    username: Optional[str]

    @strawberry.field
    def name(self) -> Optional[str]:
        return self.email or self.username or self.id


@strawberry.type(description="The event behind a change: when, by whom, from where.")
class EventSummary:
    id: strawberry.ID
    timestamp: datetime
    event_type: str
    service: str
    initiator: Optional[Actor]
    client_ip: Optional[str]
    country: Optional[str]
    success: Optional[bool]


@strawberry.type(description="One edge of a grant path, valid from `since` until `until` (null while valid).")
class AccessHop:
    source: ObjectRef
    target: ObjectRef
    relationship: str = strawberry.field(description="MEMBER_OF or HAS_ACCESS_TO")
    since: datetime
    until: Optional[datetime]
    granted_by_event: strawberry.ID
    revoked_by_event: Optional[strawberry.ID]
    granted_by: Optional[EventSummary]
    revoked_by: Optional[EventSummary]


@strawberry.type
class AccessPath:
    kind: str = strawberry.field(description="direct, group, nested_group (+system_group)")
    since: datetime = strawberry.field(description="since when every hop of this path has been valid together")
    until: Optional[datetime]
    hops: list[AccessHop]
    blocked_by: Optional[str] = strawberry.field(default=None, description="from accessPath: the account was "
                                                 "suspended, locked or deleted at that instant (else null)")
    effective: Optional[bool] = strawberry.field(default=None, description="from accessPath: false when the "
                                                 "account was blocked then; null elsewhere (see the enclosing "
                                                 "result's `effective`)")



# The account-status fields of an access result (EffectiveAccess, PrincipalAccess), described once.
def _status_field() -> Any:
    return strawberry.field(description="the account's status at that instant: active, suspended, locked or deleted "
                                        "(null before the account was created)")


def _blocked_by_field() -> Any:
    return strawberry.field(description="why the access is not effective (the account was suspended, locked or "
                                        "deleted then); null when it is")


def _effective_field() -> Any:
    return strawberry.field(description="entitled and usable: false for a blocked account")


@strawberry.type
class EffectiveAccess:
    resource: ObjectRef
    paths: list[AccessPath]
    status: Optional[str] = _status_field()
    blocked_by: Optional[str] = _blocked_by_field()
    effective: bool = _effective_field()


@strawberry.type
class GroupMembership:
    group: ObjectRef
    direct: bool
    depth: int
    paths: list[AccessPath]


@strawberry.type
class GroupMember:
    member: ObjectRef
    direct: bool
    depth: int
    paths: list[AccessPath]


@strawberry.type
class PrincipalAccess:
    user: ObjectRef
    paths: list[AccessPath]
    status: Optional[str] = _status_field()
    blocked_by: Optional[str] = _blocked_by_field()
    effective: bool = _effective_field()


@strawberry.type
class AccessChange:
    resource: ObjectRef
    events: list[EventSummary] = strawberry.field(description="the events that granted (gained) or revoked (lost)")
    paths: list[AccessPath]


@strawberry.type
class AccessDiff:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    gained: list[AccessChange]
    lost: list[AccessChange]
    from_status: Optional[str] = strawberry.field(description="the account's status at `from`")
    to_status: Optional[str] = strawberry.field(description="the account's status at `to`")


@strawberry.type(description="A span of an account's status: active, suspended, locked or deleted.")
class AccountStatus:
    status: str
    since: Optional[datetime] = strawberry.field(description="null: since before any stored event")
    until: Optional[datetime]
    by_event: Optional[strawberry.ID] = strawberry.field(description="the event that set it (null: from the start)")


@strawberry.type(description="A name sign-ins used that no account held at their instant.")
class UnresolvedIdentity:
    kind: str = strawberry.field(description="username or email")
    name: str = strawberry.field(description="lower-cased")
    attempts: int
    failures: int
    first_seen: datetime
    last_seen: datetime
    services: list[str]


@strawberry.type
class Change:
    field: str
    from_: Optional[JSON] = strawberry.field(name="from")
    to: Optional[JSON]


@strawberry.type
class Association:
    op: str
    source: ObjectRef
    target: ObjectRef
    relationship: Optional[str]


@strawberry.type(description="One entry of a user's story or an admin's changes.")
class AuditEntry:
    id: strawberry.ID
    timestamp: datetime
    event_type: str
    service: str
    kind: str = strawberry.field(description="created, updated, suspended, unsuspended, activated, deleted, "
                                             "password, mfa, locked, unlocked, admin_granted, admin_revoked, login, "
                                             "association_added/removed/updated, other")
    initiator: Optional[Actor]
    target: Optional[ObjectRef]
    client_ip: Optional[str]
    country: Optional[str]
    success: Optional[bool]
    changes: list[Change]
    association: Optional[Association]
    counterpart: Optional[ObjectRef] = strawberry.field(description="the other end of an association")


@strawberry.interface(description="Authentication counts over a window.")
class SignIns:
    first_seen: datetime
    last_seen: datetime
    last_success: Optional[datetime]
    attempts: int
    successes: int
    failures: int
    mfa_share: float = strawberry.field(description="share of attempts made with MFA, 0..1")
    countries: list[str]
    client_ips: list[str]


@strawberry.type(description="A resource a user signed in to, with the counts.")
class ResourceAccess(SignIns):
    resource: ObjectRef


@strawberry.type(description="A user who signed in to a resource, with the counts.")
class Accessor(SignIns):
    user: Optional[ObjectRef]
    username: Optional[str]


@strawberry.type
class FailedLoginBurst:
    user: Optional[ObjectRef]
    username: Optional[str]
    start: datetime
    end: datetime
    count: int
    client_ips: list[str]
    countries: list[str]
    services: list[str]
    event_ids: list[strawberry.ID]


@strawberry.type
class RevocationReason:
    kind: str = strawberry.field(description="access_revoked, user_suspended, user_locked or user_deleted")
    at: datetime
    event: Optional[EventSummary]


@strawberry.type
class AccessAfterRevocation:
    event: EventSummary
    user: ObjectRef
    resource: ObjectRef
    reasons: list[RevocationReason]


@strawberry.type
class NewCountryLogin:
    event: EventSummary
    user: Optional[ObjectRef]
    username: Optional[str]
    country: str
    previous_countries: list[str]


@strawberry.type(description="An entity joined to this one by a temporal edge valid at the instant asked.")
class Neighbour:
    relationship: str = strawberry.field(description="MEMBER_OF, HAS_ACCESS_TO or ASSOCIATED_WITH")
    direction: str = strawberry.field(description="out: this -> node; in: node -> this")
    node: ObjectRef
    since: datetime
    until: Optional[datetime]
    granted_by_event: strawberry.ID
    revoked_by_event: Optional[strawberry.ID]


@strawberry.type(description="One way a user held a group or reached a resource at the report's instant.")
class AuditReportRow:
    user: ObjectRef
    target: ObjectRef
    path: AccessPath
    granted_by: Optional[EventSummary] = strawberry.field(
        description="the event of the path's most recent hop: the change that completed this path")


TYPES: dict[type, Any] = {
    t.Ref: ObjectRef, t.Actor: Actor, t.EventRef: EventSummary, t.Hop: AccessHop, t.AccessPath: AccessPath,
    t.EffectiveAccess: EffectiveAccess, t.GroupMembership: GroupMembership, t.GroupMember: GroupMember,
    t.PrincipalAccess: PrincipalAccess, t.AccessChange: AccessChange, t.AccessDiff: AccessDiff, t.Change: Change,
    t.Association: Association, t.AuditEntry: AuditEntry, t.ResourceAccess: ResourceAccess, t.Accessor: Accessor,
    t.FailedLoginBurst: FailedLoginBurst, t.RevocationReason: RevocationReason,
    t.AccessAfterRevocation: AccessAfterRevocation, t.NewCountryLogin: NewCountryLogin, t.Neighbour: Neighbour,
    t.UnresolvedIdentity: UnresolvedIdentity, t.ReportRow: AuditReportRow,
}


for _cls in TYPES.values():  # `convert` shares a repeated object's GraphQL object: projected once per answer too
    setattr(_cls, SHARED, True)


def account_status(span: Any) -> AccountStatus:
    """An app.model.identity.StatusSpan (its unbounded start is null here)."""
    since = None if span.since <= LO else ms_to_dt(span.since)
    return AccountStatus(status=span.status, since=since, until=None if span.until is None else ms_to_dt(span.until),
                         by_event=None if span.by_event is None else strawberry.ID(span.by_event))


def _plan(src: type) -> tuple[type, tuple[tuple[str, str, int], ...], bool]:
    """For a result dataclass: its GraphQL type and, per field kept, (source name, argument name, kind)."""
    cls = TYPES[src]
    wanted = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else None
    steps = []
    for f in dataclasses.fields(src):
        key = RENAMED.get(f.name, f.name)
        if wanted is not None and key not in wanted:
            continue
        kind = _TIME if f.name in TIME_FIELDS else _ID if f.name == "id" or f.name.endswith("_event") else _ANY
        steps.append((f.name, key, kind))
    # Filling __dict__ directly is safe only for a plain dataclass whose every field the steps set.
    direct = dataclasses.is_dataclass(cls) and \
        {f.name for f in dataclasses.fields(cls) if f.init} == {key for _, key, _ in steps} and \
        getattr(cls, "__post_init__", None) is None and not hasattr(cls, "__slots__")
    return cls, tuple(steps), direct


_ANY, _TIME, _ID = 0, 1, 2
_datetime = functools.lru_cache(maxsize=4096)(ms_to_dt)  # a wide answer repeats the same few grant events' times
_SCALARS = (str, int, float, bool, type(None))
_PLAIN = frozenset(_SCALARS)  # exact types taken as they are (a str is its own strawberry.ID)


def convert(value: Any, name: str = "") -> Any:
    """A traversal result (dataclasses, tuples, epoch ms) as the GraphQL objects above. A dataclass that occurs
    more than once in it (a wide access names the same user, groups and granting events in hundreds of hops) is
    converted once and its GraphQL object shared: they are read-only, and the answer is the same."""
    kind = _TIME if name in TIME_FIELDS else _ID if name == "id" or name.endswith("_event") else _ANY
    return _convert(value, kind, {})


def _convert(value: Any, kind: int, memo: dict[int, Any]) -> Any:
    """`convert` with the field's kind decided once per field, each dataclass's converter made once per type, and
    `memo` the GraphQL objects made so far, by the id of their (alive, unchanged meanwhile) result dataclass."""
    if isinstance(value, _SCALARS):
        if kind == _TIME and isinstance(value, int) and not isinstance(value, bool):
            return _datetime(value)
        if kind == _ID:
            return value if value is None else strawberry.ID(str(value))
        return value
    if isinstance(value, (tuple, list)):
        return [_convert(v, kind, memo) for v in value]
    out = memo.get(id(value))
    if out is not None:
        return out
    converter = _CONVERTERS.get(type(value))
    if converter is None:
        if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return value
        converter = _CONVERTERS[type(value)] = _converter(type(value))
    out = memo[id(value)] = converter(value, memo)
    return out


def _converter(src: type) -> Callable[[Any, dict[int, Any]], Any]:
    """The converter of one result dataclass, generated (as dataclasses generate `__init__`): each field read by
    name and taken as it is when it is a common value (text, number, null: most of the ~20,000 a wide answer
    holds), else converted. A plain GraphQL dataclass whose every field is set here is filled through `__dict__`,
    skipping its generated `__init__` (a 181-resource access builds ~50,000 objects)."""
    cls, steps, direct = _plan(src)
    lines = ["def convert(value, memo):"]
    if direct:
        lines += ["    out = _new(cls)", "    fields = out.__dict__"]
    else:
        lines += ["    fields = {}"]
    for src_name, key, kind in steps:
        lines.append(f"    v = value.{src_name}")
        taken = {_ANY: "v is None or type(v) in _PLAIN", _ID: "v is None or type(v) is str"}.get(kind)
        if taken is None:  # a time: null, or converted
            lines.append(f"    fields[{key!r}] = None if v is None else _convert(v, {kind}, memo)")
        else:
            lines.append(f"    fields[{key!r}] = v if {taken} else _convert(v, {kind}, memo)")
    lines.append("    return out" if direct else "    return cls(**fields)")
    namespace: dict[str, Any] = {"_new": object.__new__, "cls": cls, "_PLAIN": _PLAIN, "_convert": _convert}
    exec(compile("\n".join(lines), f"<convert {src.__name__}>", "exec"), namespace)  # noqa: S102 - field names
    return namespace["convert"]


_CONVERTERS: dict[type, Callable[[Any, dict[int, Any]], Any]] = {}
