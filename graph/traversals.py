"""Every graph traversal the API needs, each query in one place.

Why one module: the temporal rules (an interval edge is valid at T when `since <= T < until`, `until` null while
open), the organization scoping and the path shapes that make up "access" are easy to get subtly wrong; keeping
them here means the GraphQL layer only maps the frozen dataclasses below.

Conventions for every public function:
- `db` and `organization` come first; every node and interval relationship matched carries that organization
  (event edges -- INITIATED_BY, TARGETS, ... -- have no properties, so their far ends are checked instead).
- Values are Cypher parameters. The only text formatted into a query is a whitelisted label or property name.
- Times in and out are epoch milliseconds. An `as_of_ms` of None means now; a window is `[from_ms, to_ms)` and a
  None end is unbounded.

Access model (see app/access.py): (:User)-[:MEMBER_OF]->(:Group {kind:'user'}) (nested: group MEMBER_OF group),
(user|user group)-[:HAS_ACCESS_TO]->(resource), where the resource may be a system group whose systems are
(:System)-[:MEMBER_OF]->(:Group {kind:'system'}). A path is at most MAX_HOPS relationships long.

Who authenticated: the vendor often leaves out the user's id (RADIUS, LDAP) or reports a `systemuser` (systems),
so an authentication belongs to a user either through its INITIATED_BY edge or by username.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from app.model.intervals import edge_for
from app.model.events import ENTITY_LABELS, EntityRef, parse_event
from app.model.jsonutil import loads
from graph.db import Database
from graph.write import NAME_KEYS

MAX_MEMBER_HOPS = 4  # user -> group -> ... nested up to four MEMBER_OF hops before the grant
MAX_HOPS = MAX_MEMBER_HOPS + 2  # + HAS_ACCESS_TO + (system MEMBER_OF system group)
_LO, _HI = -(2**62), 2**62  # unbounded window ends, still plain integers for range index seeks

# Authentications of a person (admin_login_attempt is an admin's; ldap_search follows a bind and proves nothing).
USER_AUTH_TYPES: tuple[str, ...] = (
    "user_login_attempt", "sso_auth", "login_attempt", "radius_auth", "radius_auth_attempt", "ldap_bind",
)
# An authentication that names no application or system reached the service itself; it is reported as a
# pseudo-resource Ref(label="Service", type=<service>, id=<service>, name=<below>).
SERVICE_NAMES: dict[str, str] = {
    "directory": "User Portal", "radius": "RADIUS", "ldap": "LDAP", "sso": "SSO", "systems": "Systems",
}
_LABEL_TYPES = {
    "User": "user", "Admin": "admin", "System": "system", "Application": "application",
    "RadiusServer": "radius_server", "LdapServer": "ldap_server", "Policy": "policy", "Command": "command",
    "Organization": "organization", "IPAddress": "ip_address", "Resource": "resource",
}
LOOKUP_KEYS: dict[str, tuple[str, ...]] = {  # the properties get_entity may look an entity up by, besides id
    "User": ("username", "email", "name"),
    "Admin": ("email", "name"),
    "Group": ("name",),
    "System": ("hostname", "name", "displayName"),
    "Application": ("name", "display_label"),
    "RadiusServer": ("name",),
    "LdapServer": ("name",),
    "Policy": ("name",),
    "Command": ("name",),
    "Organization": ("name",),
    "Resource": ("name",),
    "IPAddress": ("address",),
}
_INTERNAL_PROPS = frozenset({"batch", "lock", *(f"{k}_at" for k in NAME_KEYS)})


# ---- result types --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class EffectiveAccess:
    """A resource the user could reach, with every grant path."""

    resource: Ref
    paths: tuple[AccessPath, ...]


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
    """A user who could reach a resource, with every grant path."""

    user: Ref
    paths: tuple[AccessPath, ...]


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


LifecycleEntry = AuditEntry


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
    """kind: access_revoked (no valid path at the login, but one earlier), user_suspended, user_deleted;
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
class Entity:
    """An entity node: label, id (an IPAddress's address) and its stored properties (write bookkeeping left out)."""

    label: str
    id: str
    properties: dict[str, Any]

    @property
    def ref(self) -> Ref:
        p = self.properties
        name = p.get("name") or p.get("username") or p.get("hostname") or p.get("email") or p.get("address")
        return Ref(self.label, _vendor_type(self.label, p.get("kind"), p.get("type")), self.id, name)


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


# ---- Cypher fragments (constants only) ----------------------------------------------------------------------


def _node(v: str) -> str:
    """A node as the small map _to_ref reads; `v` is a query variable or expression, never input."""
    return (f"{{label: labels({v})[0], id: coalesce({v}.id, {v}.address), "
            f"name: coalesce({v}.name, {v}.username, {v}.hostname, {v}.email, {v}.address), kind: {v}.kind, "
            f"type: {v}.type}}")


def _ref(v: str) -> str:
    """_node, null for a null node (OPTIONAL MATCH)."""
    return f"CASE WHEN {v} IS NULL THEN null ELSE {_node(v)} END"


def _valid_at(r: str) -> str:
    return f"{r}.organization = $org AND {r}.since <= $t AND ({r}.until IS NULL OR {r}.until > $t)"


def _started_before(r: str) -> str:
    return f"{r}.organization = $org AND {r}.since < $t"


_HOPS = (f"[r IN rels | {{rel: type(r), src: {_node('startNode(r)')}, dst: {_node('endNode(r)')}, "
         f"since: r.since, until: r.until, granted: r.granted_by_event, revoked: r.revoked_by_event}}]")


def _with_events(subject: str) -> str:
    """The end of a path statement: one row holding every (subject, hops) row, and the events that granted or
    revoked any hop (each once), so paths and their events cost one round trip instead of two."""
    return f"""
WITH {subject} AS subject, {_HOPS} AS hops
WITH collect({{subject: subject, hops: hops}}) AS rows
CALL (rows) {{
  UNWIND rows AS row
  UNWIND row.hops AS h
  UNWIND [h.granted, h.revoked] AS eid
  WITH DISTINCT eid WHERE eid IS NOT NULL
  MATCH (e:Event {{organization: $org, id: eid}})
  RETURN collect({{id: e.id, ts: e.ts, event_type: e.event_type, service: e.service, raw: e.raw}}) AS events
}}
RETURN rows, events
"""


def _reach(valid: Callable[[str], str], carry: str) -> str:
    """From a bound user `u` to every resource `res` it reaches through relationships passing `valid`, as `rels`
    (user-side MEMBER_OF chain, the grant, then the system's MEMBER_OF when the grant is to a system group).
    An empty system group reaches nothing; a system group is never itself a resource."""
    return f"""
MATCH p = (u)(()-[m:MEMBER_OF WHERE {valid('m')}]->(:Group {{organization: $org}})){{0,{MAX_MEMBER_HOPS}}}
          ()-[g:HAS_ACCESS_TO WHERE {valid('g')}]->(x {{organization: $org}})
OPTIONAL MATCH (x)<-[s:MEMBER_OF WHERE {valid('s')}]-(sys:System {{organization: $org}})
  WHERE x:Group AND x.kind = 'system'
WITH {carry}, x, sys, relationships(p) + CASE WHEN s IS NULL THEN [] ELSE [s] END AS rels
WHERE NOT (x:Group AND coalesce(x.kind, '') = 'system' AND sys IS NULL)
WITH {carry}, coalesce(sys, x) AS res, rels
"""


_ACCESS_AT = (
    "MATCH (u:User {organization: $org, id: $uid})"
    + _reach(_valid_at, "u")
    + "WHERE $rid IS NULL OR res.id = $rid"
    + _with_events(_ref('res'))
)

# Every path (not only currently valid ones) from some users to some resources, for reachability timelines.
_ACCESS_EVER = (
    "UNWIND $rows AS row\nMATCH (u:User {organization: $org, id: row.uid})"
    + _reach(_started_before, "u, row")
    + "WHERE res.id IN row.rids\n"
    "RETURN row.uid AS uid, res.id AS rid, [r IN rels | [r.since, r.until, r.revoked_by_event]] AS hops"
)

def _who_can_access_query(label: str) -> str:
    assert label in ENTITY_LABELS
    user_chain = (f"(u:User {{organization: $org}})"
                  f"(()-[m:MEMBER_OF WHERE {_valid_at('m')}]->(:Group {{organization: $org}})){{0,{MAX_MEMBER_HOPS}}}"
                  f"()-[g:HAS_ACCESS_TO WHERE {_valid_at('g')}]->")
    return f"""
MATCH (x:{label} {{organization: $org, id: $rid}})
CALL (x) {{
  MATCH p = {user_chain}(x)
  RETURN u, relationships(p) AS rels
  UNION ALL
  MATCH (x)-[s:MEMBER_OF WHERE {_valid_at('s')}]->(sg:Group {{organization: $org, kind: 'system'}})
  MATCH p = {user_chain}(sg)
  RETURN u, relationships(p) + [s] AS rels
}}""" + _with_events(_ref('u'))


_WHO_CAN_ACCESS = {label: _who_can_access_query(label) for label in ENTITY_LABELS}

_GROUPS_AT = f"""
MATCH p = (u:User {{organization: $org, id: $uid}})
          (()-[m:MEMBER_OF WHERE {_valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH grp, relationships(p) AS rels""" + _with_events(_ref('grp'))

_MEMBERS_AT = f"""
MATCH (grp:Group {{organization: $org, id: $gid}})
MATCH p = (member {{organization: $org}})
          (()-[m:MEMBER_OF WHERE {_valid_at('m')}]->(:Group {{organization: $org}})){{1,{MAX_MEMBER_HOPS}}}(grp)
WITH member, relationships(p) AS rels""" + _with_events(_ref('member'))

# Patterns from an anchor to its events leave `e` unlabelled on purpose: only events have these relationships,
# and without the label the planner cannot choose to scan the organization's events by time instead.
_EVENTS_BY_ID = """
UNWIND $ids AS id
MATCH (e:Event {organization: $org, id: id})
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
"""

_LIFECYCLE = """
MATCH (u:User {organization: $org, id: $uid})<-[:TARGETS|ASSOC_FROM|ASSOC_TO]-(e)
WHERE e.organization = $org AND e.ts >= $from AND e.ts < $to
WITH DISTINCT e
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
ORDER BY ts, id
"""

_ADMIN_CHANGES = """
MATCH (a:Admin {organization: $org, id: $aid})<-[:INITIATED_BY]-(e)
WHERE e.organization = $org AND e.ts >= $from AND e.ts < $to AND ($logins OR NOT e.event_type ENDS WITH 'login_attempt')
RETURN e.id AS id, e.ts AS ts, e.event_type AS event_type, e.service AS service, e.raw AS raw
ORDER BY ts DESC, id DESC
LIMIT $limit
"""

_AUTH_FILTER = "e.organization = $org AND e.event_type IN $auth AND e.ts >= $from AND e.ts < $to"
_AGG = """count(e) AS attempts,
       sum(CASE WHEN e.f_success = true THEN 1 ELSE 0 END) AS successes,
       sum(CASE WHEN e.f_success = false THEN 1 ELSE 0 END) AS failures,
       sum(CASE WHEN e.f_mfa = true THEN 1 ELSE 0 END) AS with_mfa,
       min(e.ts) AS first_seen, max(e.ts) AS last_seen,
       max(CASE WHEN e.f_success = true THEN e.ts END) AS last_success,
       collect(DISTINCT toUpper(e.f_geoip_country_code)) AS countries,
       collect(DISTINCT trim(e.f_client_ip)) AS client_ips"""

def _user_auths(imports: str, cond: str) -> str:
    """A CALL yielding `e`, each authentication of the bound user `u` passing `cond`: by the INITIATED_BY edge,
    or by username when the event names no other user. The unlabelled `e` and the index hints keep the planner
    from scanning the organization's events by time instead (it cannot know a user's events are few while a
    window may be wide); only events have INITIATED_BY edges."""
    cond = f"e.organization = $org AND e.event_type IN $auth AND {cond}"
    other = "NOT EXISTS { (e)-[:INITIATED_BY]->(o:User) WHERE o.id <> u.id }"
    return f"""
CALL ({imports}) {{
  MATCH (u)<-[:INITIATED_BY]-(e) WHERE {cond}
  RETURN e
  UNION
  MATCH (e:Event) USING INDEX e:Event(f_initiated_by_username)
  WHERE e.f_initiated_by_username = toLower(u.username) AND {cond} AND {other}
  RETURN e
  UNION
  MATCH (e:Event) USING INDEX e:Event(f_username)
  WHERE e.f_username = toLower(u.username) AND {cond} AND {other}
  RETURN e
}}
"""


_USER_AUTH_EVENTS = "MATCH (u:User {organization: $org, id: $uid})" + _user_auths("u", "e.ts >= $from AND e.ts < $to")

_ACCESS_HISTORY = _USER_AUTH_EVENTS + f"""
OPTIONAL MATCH (e)-[:ACCESSED]->(x) WHERE x.organization = $org
WITH x, CASE WHEN x IS NULL THEN e.service END AS service, e
RETURN {_ref('x')} AS resource, service, {_AGG}
"""

_WHO = f"""
OPTIONAL MATCH (e)-[:INITIATED_BY]->(iu:User) WHERE iu.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username) AS uname, e
RETURN {_ref('iu')} AS user, uname, {_AGG}
"""


def _who_accessed_query(label: str) -> str:
    assert label in ENTITY_LABELS
    return f"""
MATCH (x:{label} {{organization: $org, id: $rid}})<-[:ACCESSED]-(e)
WHERE {_AUTH_FILTER}""" + _WHO


_WHO_ACCESSED = {label: _who_accessed_query(label) for label in ENTITY_LABELS}
_WHO_USED_SERVICE = f"""
MATCH (e:Event)
WHERE {_AUTH_FILTER} AND e.service = $service AND NOT EXISTS {{ (e)-[:ACCESSED]->() }}""" + _WHO

# Failed (or successful) authentications of the whole organization in a window, with who made them.
_ORG_AUTH_EVENTS = f"""
MATCH (e:Event)
WHERE {_AUTH_FILTER} AND e.f_success = $success
OPTIONAL MATCH (e)-[:INITIATED_BY]->(iu:User) WHERE iu.organization = $org
RETURN e.id AS id, e.ts AS ts, e.service AS service, {_ref('iu')} AS user,
       coalesce(e.f_initiated_by_username, e.f_username) AS uname, trim(e.f_client_ip) AS client_ip,
       toUpper(e.f_geoip_country_code) AS country
ORDER BY ts, id
"""

# Who reached what successfully in a window, compressed to (user, resource) pairs with their first and last time.
_SUCCESS_PAIRS = f"""
MATCH (e:Event)
WHERE {_AUTH_FILTER} AND e.f_success = true
OPTIONAL MATCH (e)-[:INITIATED_BY]->(iu:User) WHERE iu.organization = $org
OPTIONAL MATCH (e)-[:ACCESSED]->(x) WHERE x.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username) AS uname, x,
     CASE WHEN x IS NULL THEN e.service END AS service, min(e.ts) AS first, max(e.ts) AS last
RETURN {_ref('iu')} AS user, uname, {_ref('x')} AS resource, service, first, last
"""

# The successful authentications of given users to given resources (or services) in given time ranges.
_SUCCESS_IN_RANGES = (
    "UNWIND $probes AS p\nMATCH (u:User {organization: $org, id: p.uid})"
    + _user_auths("u, p", "e.ts >= p.lo AND e.ts < p.hi AND e.f_success = true")
    + """WITH p, e
WHERE CASE WHEN p.rid IS NULL
           THEN e.service = p.service AND NOT EXISTS { (e)-[:ACCESSED]->() }
           ELSE EXISTS { (e)-[:ACCESSED]->(x) WHERE x.organization = $org AND x.id = p.rid } END
RETURN DISTINCT p.uid AS uid, p.rid AS rid, p.service AS service, e.id AS id, e.ts AS ts
ORDER BY ts, id
"""
)

_FIRST_COUNTRY = f"""
MATCH (e:Event)
WHERE {_AUTH_FILTER} AND e.f_success = true AND e.f_geoip_country_code IS NOT NULL
OPTIONAL MATCH (e)-[:INITIATED_BY]->(iu:User) WHERE iu.organization = $org
WITH iu, coalesce(e.f_initiated_by_username, e.f_username) AS uname, toUpper(e.f_geoip_country_code) AS country,
     min(e.ts) AS first
RETURN {_ref('iu')} AS user, uname, country, first
"""

_SUCCESS_AT = f"""
UNWIND $rows AS r
MATCH (e:Event {{organization: $org, ts: r.ts}})
WHERE e.event_type IN $auth AND e.f_success = true AND toUpper(e.f_geoip_country_code) = r.country
OPTIONAL MATCH (e)-[:INITIATED_BY]->(iu:User) WHERE iu.organization = $org
RETURN r.ts AS ts, r.country AS country, e.id AS id, {_ref('iu')} AS user,
       coalesce(e.f_initiated_by_username, e.f_username) AS uname
ORDER BY id
"""

_STATUS_TYPES = ("user_suspended", "user_unsuspended", "user_activated", "user_delete", "user_delete_provision")
_USER_STATUS = """
UNWIND $uids AS uid
MATCH (:User {organization: $org, id: uid})<-[:TARGETS]-(e)
WHERE e.organization = $org AND (e.event_type IN $types OR (e.event_type IN ['user_update', 'user_update_provision']
      AND any(f IN coalesce(e.f_changes_field, []) WHERE f IN ['suspended', 'state'])))
RETURN uid, e.id AS id, e.ts AS ts, e.event_type AS event_type, e.raw AS raw
ORDER BY ts, id
"""

_USERS_BY_NAME = f"""
UNWIND $names AS n
MATCH (u:User {{organization: $org, username: n}})
RETURN n AS key, {_ref('u')} AS user
"""
_USERS_BY_NAME_CI = f"""
MATCH (u:User {{organization: $org}}) WHERE toLower(u.username) IN $names
RETURN toLower(u.username) AS key, {_ref('u')} AS user
ORDER BY u.id
"""

_BY_ID = ("CALL () {\n" + "\n  UNION ALL\n".join(
    f"  MATCH (n:{label} {{organization: $org, id: $id}}) RETURN n" for label in ENTITY_LABELS
) + "\n}\nRETURN labels(n)[0] AS label, n.id AS id, properties(n) AS props")


def _lookup_query(label: str, key: str) -> str:
    assert label in LOOKUP_KEYS and (key == "id" or key in LOOKUP_KEYS[label])
    ident = "address" if label == "IPAddress" else "id"
    return (f"MATCH (n:{label} {{organization: $org, `{key}`: $value}})\n"
            f"RETURN labels(n)[0] AS label, n.{ident} AS id, properties(n) AS props ORDER BY id LIMIT $limit")


def _neighbours_query(label: str) -> str:
    assert label in LOOKUP_KEYS
    key = "address" if label == "IPAddress" else "id"
    return f"""
MATCH (n:{label} {{organization: $org, {key}: $id}})-[r:MEMBER_OF|HAS_ACCESS_TO|ASSOCIATED_WITH WHERE {_valid_at('r')}]-(o)
WHERE o.organization = $org
RETURN type(r) AS rel, startNode(r) = n AS out, {_ref('o')} AS node, r.since AS since, r.until AS until,
       r.granted_by_event AS granted, r.revoked_by_event AS revoked
ORDER BY rel, node.label, node.name, node.id, since
LIMIT $limit
"""


# ---- small helpers ------------------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def _at(as_of_ms: int | None) -> int:
    return _now_ms() if as_of_ms is None else int(as_of_ms)


def _window(from_ms: int | None, to_ms: int | None) -> dict[str, int]:
    return {"from": _LO if from_ms is None else int(from_ms), "to": _HI if to_ms is None else int(to_ms)}


def _vendor_type(label: str, kind: Any, typ: Any) -> str:
    if label == "Group":
        return f"{kind}_group" if kind else "group"
    if label == "Resource":
        return str(typ) if typ else "resource"
    return _LABEL_TYPES.get(label, label.lower())


def _to_ref(m: dict[str, Any] | None) -> Ref | None:
    if m is None:
        return None
    return Ref(m["label"], _vendor_type(m["label"], m.get("kind"), m.get("type")), m["id"], m.get("name"))


def _must_ref(m: dict[str, Any]) -> Ref:
    ref = _to_ref(m)
    assert ref is not None
    return ref


def _entity_ref(e: EntityRef) -> Ref:
    return Ref(e.label, _vendor_type(e.label, e.props.get("kind"), e.type), e.id, e.props.get("name"))


def _service_ref(service: str) -> Ref:
    return Ref("Service", service, service, SERVICE_NAMES.get(service, service))


def _sort_key(ref: Ref) -> tuple[str, str, str]:
    return (ref.label, (ref.name or "").lower(), ref.id)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _actor(obj: Any) -> Actor | None:
    if not isinstance(obj, dict):
        return None
    return Actor(str(obj.get("type") or "unknown").lower(), _str(obj.get("id")), _str(obj.get("email")),
                 _str(obj.get("username")))


def _country(raw: dict[str, Any]) -> str | None:
    geo = raw.get("geoip")
    if not isinstance(geo, dict):
        return None
    cc = _str(geo.get("country_code")) or _str(geo.get("country_code2"))
    return cc.upper() if cc else None


def _event_ref(row: dict[str, Any]) -> EventRef:
    raw = loads(row["raw"])
    success = raw.get("success")
    return EventRef(row["id"], row["ts"], row["event_type"], row["service"], _actor(raw.get("initiated_by")),
                    _str(raw.get("client_ip")), _country(raw), success if isinstance(success, bool) else None)


def _event_refs(db: Database, organization: str, ids: Iterable[str | None]) -> dict[str, EventRef]:
    """The stored events among `ids`, as EventRefs (one query for all of them)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {r["id"]: _event_ref(r) for r in db.read(_EVENTS_BY_ID, org=organization, ids=wanted)}


def _path_kind(hops: list[dict[str, Any]]) -> str:
    rels = [h["rel"] for h in hops]
    if "HAS_ACCESS_TO" not in rels:  # a membership chain
        return "direct" if len(rels) == 1 else "nested"
    members = rels.index("HAS_ACCESS_TO")
    kind = "direct" if members == 0 else "group" if members == 1 else "nested_group"
    return kind + "+system_group" if rels[-1] == "MEMBER_OF" else kind


def _span(pairs: Iterable[tuple[int, int | None]]) -> tuple[int, int | None]:
    """The span in which intervals all hold together (it may be empty: since >= until)."""
    since, until = _LO, None
    for s, u in pairs:
        since = max(since, s)
        if u is not None:
            until = u if until is None else min(until, u)
    return since, until


def _read_paths(db: Database, query: str, **params: Any) -> dict[Ref, list[AccessPath]]:
    """Run a path statement (ending in `_with_events`) -> each subject's paths, events resolved."""
    found = db.read(query, **params)[0]
    return _paths(found["rows"], {e["id"]: _event_ref(e) for e in found["events"]})


def _paths(rows: list[dict[str, Any]], events: dict[str, EventRef]) -> dict[Ref, list[AccessPath]]:
    """Rows of (subject, hops) and the stored events among their granting/revoking ones -> the subject's paths."""
    out: dict[Ref, list[AccessPath]] = defaultdict(list)
    for row in rows:
        hops = tuple(
            Hop(_must_ref(h["src"]), _must_ref(h["dst"]), h["rel"], h["since"], h["until"], h["granted"], h["revoked"],
                events.get(h["granted"]), events.get(h["revoked"]) if h["revoked"] else None)
            for h in row["hops"]
        )
        since, until = _span((h.since, h.until) for h in hops)
        out[_must_ref(row["subject"])].append(AccessPath(hops, _path_kind(row["hops"]), since, until))
    for paths in out.values():
        paths.sort(key=lambda p: (len(p.hops), p.since, [(h.source.id, h.target.id, h.since) for h in p.hops]))
    return out


def _sorted_items(paths: dict[Ref, list[AccessPath]]) -> list[tuple[Ref, tuple[AccessPath, ...]]]:
    return [(ref, tuple(paths[ref])) for ref in sorted(paths, key=_sort_key)]


# ---- temporal access --------------------------------------------------------------------------------------------


def groups_as_of(db: Database, organization: str, user_id: str, as_of_ms: int | None = None) -> list[GroupMembership]:
    """The user's groups at the instant, direct and through nested groups (up to MAX_MEMBER_HOPS)."""
    found = _read_paths(db, _GROUPS_AT, org=organization, uid=user_id, t=_at(as_of_ms))
    return [GroupMembership(ref, paths[0].kind == "direct", len(paths[0].hops), paths)
            for ref, paths in _sorted_items(found)]


def access_as_of(db: Database, organization: str, user_id: str, as_of_ms: int | None = None) -> list[EffectiveAccess]:
    """Every resource the user could reach at the instant, with all grant paths (direct, through user groups,
    nested groups, and system groups), each hop valid at that instant. One traversal."""
    found = _read_paths(db, _ACCESS_AT, org=organization, uid=user_id, rid=None, t=_at(as_of_ms))
    return [EffectiveAccess(ref, paths) for ref, paths in _sorted_items(found)]


def access_path(db: Database, organization: str, user_id: str, resource_id: str,
                as_of_ms: int | None = None) -> list[AccessPath]:
    """Why this user can reach that resource at the instant: every grant path; empty when none."""
    found = _read_paths(db, _ACCESS_AT, org=organization, uid=user_id, rid=resource_id, t=_at(as_of_ms))
    return [p for paths in found.values() for p in paths]


def access_diff(db: Database, organization: str, user_id: str, from_ms: int, to_ms: int) -> AccessDiff:
    """Resources reachable at `to_ms` but not at `from_ms` (gained, with the granting events of the hops that began
    in between) and the reverse (lost, with the revoking events of the hops that ended in between). Only the two
    instants are compared: access gained and lost again in between is neither."""
    if from_ms > to_ms:
        raise ValueError("from_ms must not be after to_ms")
    before = {a.resource: a for a in access_as_of(db, organization, user_id, from_ms)}
    after = {a.resource: a for a in access_as_of(db, organization, user_id, to_ms)}
    lo, hi = from_ms, to_ms

    def change(access: EffectiveAccess, gained: bool) -> AccessChange:
        found: dict[str, EventRef] = {}
        for path in access.paths:
            for h in path.hops:
                if gained and lo < h.since <= hi and h.granted_by is not None:
                    found[h.granted_by.id] = h.granted_by
                if not gained and h.until is not None and lo < h.until <= hi and h.revoked_by is not None:
                    found[h.revoked_by.id] = h.revoked_by
        return AccessChange(access.resource, tuple(sorted(found.values(), key=lambda e: (e.ts, e.id))), access.paths)

    gained = tuple(change(after[r], True) for r in sorted(after.keys() - before.keys(), key=_sort_key))
    lost = tuple(change(before[r], False) for r in sorted(before.keys() - after.keys(), key=_sort_key))
    return AccessDiff(from_ms, to_ms, gained, lost)


def members_as_of(db: Database, organization: str, group_id: str, as_of_ms: int | None = None) -> list[GroupMember]:
    """A group's members at the instant: users and nested groups of a user group (with the users of those),
    systems of a system group."""
    found = _read_paths(db, _MEMBERS_AT, org=organization, gid=group_id, t=_at(as_of_ms))
    out = []
    for ref, paths in _sorted_items(found):
        out.append(GroupMember(ref, paths[0].kind == "direct", len(paths[0].hops), paths))
    return out


def who_can_access(db: Database, organization: str, resource_id: str,
                   as_of_ms: int | None = None) -> list[PrincipalAccess]:
    """Users who could reach the resource (application, system, RADIUS/LDAP server, ...) at the instant, with
    every grant path. A system is reached directly or through the system groups it belongs to."""
    found = _find_by_id(db, organization, resource_id)
    if found is None:
        return []
    paths = _read_paths(db, _WHO_CAN_ACCESS[found.label], org=organization, rid=resource_id, t=_at(as_of_ms))
    return [PrincipalAccess(ref, p) for ref, p in _sorted_items(paths)]


# ---- events -------------------------------------------------------------------------------------------------


def _status_change(event_type: str, changes: Iterable[Change]) -> str | None:
    """suspended | active | deleted when the event changes a user's account status."""
    if event_type in ("user_delete", "user_delete_provision"):
        return "deleted"
    if event_type == "user_suspended":
        return "suspended"
    if event_type in ("user_unsuspended", "user_activated"):
        return "active"
    for c in changes:
        if c.field == "suspended" and isinstance(c.to_value, bool):
            return "suspended" if c.to_value else "active"
        if c.field == "state" and isinstance(c.to_value, str):
            state = c.to_value.lower()
            if state in ("suspended", "activated", "active"):
                return "suspended" if state == "suspended" else "active"
    return None


_KINDS = {
    "user_suspended": "suspended", "user_unsuspended": "unsuspended", "user_activated": "activated",
    "user_lockout": "locked", "user_unlocked": "unlocked",
    "user_admin_granted": "admin_granted", "user_admin_revoked": "admin_revoked",
}


def _kind(event_type: str, changes: tuple[Change, ...], association: Association | None) -> str:
    if association is not None:
        return {"add": "association_added", "remove": "association_removed"}.get(association.op, "association_updated")
    if event_type in _KINDS:
        return _KINDS[event_type]
    if event_type in USER_AUTH_TYPES or event_type.endswith("login_attempt"):
        return "login"
    if "password" in event_type:
        return "password"
    if "totp" in event_type or "mfa" in event_type:
        return "mfa"
    base = event_type.removesuffix("_provision")
    if base.endswith("_create"):
        return "created"
    if base.endswith("_delete"):
        return "deleted"
    if base.endswith("_update"):
        status = _status_change(event_type, changes)
        return {"suspended": "suspended", "active": "unsuspended"}.get(status or "", "updated")
    return "other"


def _changes(raw: dict[str, Any]) -> tuple[Change, ...]:
    items = raw.get("changes")
    if not isinstance(items, list):
        return ()
    return tuple(Change(str(c.get("field")), c.get("from"), c.get("to")) for c in items if isinstance(c, dict))


def _audit_entry(row: dict[str, Any], subject_id: str | None = None) -> AuditEntry:
    raw = loads(row["raw"])
    ev = parse_event(raw)
    changes = _changes(raw)
    association = counterpart = None
    conn = ev.connection
    if conn is not None:
        edge = edge_for(conn)
        association = Association(conn.op, _entity_ref(conn.a), _entity_ref(conn.b), edge[0] if edge else None)
        if subject_id is not None:
            counterpart = association.target if association.source.id == subject_id else association.source
    target = ev.target
    success = raw.get("success")
    return AuditEntry(
        row["id"], row["ts"], row["event_type"], row["service"], _kind(row["event_type"], changes, association),
        _actor(raw.get("initiated_by")), _entity_ref(target) if target else None, _str(raw.get("client_ip")),
        _country(raw), success if isinstance(success, bool) else None, changes, association, counterpart,
    )


def lifecycle(db: Database, organization: str, user_id: str, from_ms: int | None = None,
              to_ms: int | None = None) -> list[AuditEntry]:
    """The story of a user, ordered by (ts, id): every event targeting the user or having the user as an
    association endpoint (created, updated, suspended, password, MFA, groups and resources added/removed, ...)."""
    rows = db.read(_LIFECYCLE, org=organization, uid=user_id, **_window(from_ms, to_ms))
    return [_audit_entry(r, user_id) for r in rows]


def admin_changes(db: Database, organization: str, admin_id: str, from_ms: int | None = None,
                  to_ms: int | None = None, limit: int = 100, include_logins: bool = False) -> list[AuditEntry]:
    """What an admin did, newest first (their own login attempts left out unless asked for)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    rows = db.read(_ADMIN_CHANGES, org=organization, aid=admin_id, limit=int(limit), logins=include_logins,
                   **_window(from_ms, to_ms))
    return [_audit_entry(r) for r in rows]


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def access_history(db: Database, organization: str, user_id: str, from_ms: int | None = None,
                   to_ms: int | None = None) -> list[ResourceAccess]:
    """Per resource the user authenticated to in the window (SSO applications, systems, and the portal, RADIUS
    and LDAP services as Service refs): first/last seen, successes, failures, MFA share, countries, client IPs."""
    rows = db.read(_ACCESS_HISTORY, org=organization, uid=user_id, auth=list(USER_AUTH_TYPES),
                   **_window(from_ms, to_ms))
    out = [
        ResourceAccess(_to_ref(r["resource"]) or _service_ref(r["service"]), r["first_seen"], r["last_seen"],
                       r["last_success"], r["attempts"], r["successes"], r["failures"],
                       _share(r["with_mfa"], r["attempts"]), tuple(sorted(r["countries"])),
                       tuple(sorted(r["client_ips"])))
        for r in rows
    ]
    return sorted(out, key=lambda a: _sort_key(a.resource))


def _resolve_users(db: Database, organization: str, rows: list[dict[str, Any]]) -> None:
    """Give every row without an INITIATED_BY user the user its username names (row["user"] stays None for a
    username nobody has). Exact match first (index), then case-insensitive for the rest."""
    names = sorted({r["uname"] for r in rows if r.get("user") is None and r.get("uname")})
    if not names:
        return
    found = {r["key"]: r["user"] for r in db.read(_USERS_BY_NAME, org=organization, names=names)}
    missing = [n for n in names if n not in found]
    if missing:
        for r in db.read(_USERS_BY_NAME_CI, org=organization, names=missing):
            found.setdefault(r["key"], r["user"])
    for r in rows:
        if r.get("user") is None and r.get("uname"):
            r["user"] = found.get(r["uname"])


def _identity(row: dict[str, Any]) -> str:
    user = row.get("user")
    return "id:" + user["id"] if user else "name:" + str(row.get("uname"))


def who_accessed(db: Database, organization: str, resource_id: str, from_ms: int | None = None,
                 to_ms: int | None = None) -> list[Accessor]:
    """Who authenticated to the resource in the window, with counts and first/last times. `resource_id` is an
    entity id (application, system) or a service name (directory, radius, ldap) for the service itself."""
    found = _find_by_id(db, organization, resource_id)
    params = dict(org=organization, auth=list(USER_AUTH_TYPES), **_window(from_ms, to_ms))
    if found is not None:
        rows = db.read(_WHO_ACCESSED[found.label], rid=resource_id, **params)
    elif resource_id in SERVICE_NAMES:
        rows = db.read(_WHO_USED_SERVICE, service=resource_id, **params)
    else:
        return []
    _resolve_users(db, organization, rows)
    merged: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = _identity(r)
        m = merged.get(key)
        if m is None:
            merged[key] = dict(r, countries=set(r["countries"]), client_ips=set(r["client_ips"]))
            continue
        for k in ("attempts", "successes", "failures", "with_mfa"):
            m[k] += r[k]
        m["first_seen"], m["last_seen"] = min(m["first_seen"], r["first_seen"]), max(m["last_seen"], r["last_seen"])
        m["last_success"] = max((x for x in (m["last_success"], r["last_success"]) if x is not None), default=None)
        m["countries"] |= set(r["countries"])
        m["client_ips"] |= set(r["client_ips"])
    out = [
        Accessor(_to_ref(m["user"]), m["user"]["name"] if m["user"] else m["uname"], m["first_seen"], m["last_seen"],
                 m["last_success"], m["attempts"], m["successes"], m["failures"], _share(m["with_mfa"], m["attempts"]),
                 tuple(sorted(m["countries"])), tuple(sorted(m["client_ips"])))
        for m in merged.values()
    ]
    return sorted(out, key=lambda a: (-a.attempts, a.username or "", a.user.id if a.user else ""))


# ---- investigations -----------------------------------------------------------------------------------------


def _org_auths(db: Database, organization: str, success: bool, from_ms: int | None,
               to_ms: int | None) -> list[dict[str, Any]]:
    rows = db.read(_ORG_AUTH_EVENTS, org=organization, auth=list(USER_AUTH_TYPES), success=success,
                   **_window(from_ms, to_ms))
    _resolve_users(db, organization, rows)
    return rows


def failed_login_bursts(db: Database, organization: str, window_ms: int, threshold: int,
                        from_ms: int | None = None, to_ms: int | None = None) -> list[FailedLoginBurst]:
    """Per user (or unknown username), the runs of failed authentications in the window where at least
    `threshold` failures fall within `window_ms` of each other; overlapping windows merge into one burst."""
    if window_ms <= 0 or threshold < 1:
        raise ValueError("window_ms must be positive and threshold at least 1")
    by_who: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _org_auths(db, organization, False, from_ms, to_ms):
        by_who[_identity(r)].append(r)  # already in (ts, id) order
    bursts = []
    for rows in by_who.values():
        ranges: list[list[int]] = []
        j = 0
        for i in range(len(rows)):
            j = max(j, i)
            while j + 1 < len(rows) and rows[j + 1]["ts"] - rows[i]["ts"] < window_ms:
                j += 1
            if j - i + 1 >= threshold:
                if ranges and i <= ranges[-1][1]:
                    ranges[-1][1] = j
                else:
                    ranges.append([i, j])
        for a, b in ranges:
            part = rows[a: b + 1]
            user = _to_ref(part[0]["user"])
            bursts.append(FailedLoginBurst(
                user, user.name if user else part[0]["uname"], part[0]["ts"], part[-1]["ts"], len(part),
                tuple(sorted({r["client_ip"] for r in part if r["client_ip"]})),
                tuple(sorted({r["country"] for r in part if r["country"]})),
                tuple(sorted({r["service"] for r in part})), tuple(r["id"] for r in part)))
    return sorted(bursts, key=lambda b: (b.start, b.username or ""))


def _reach_windows(db: Database, organization: str, pairs: set[tuple[str, str]],
                   before_ms: int) -> dict[tuple[str, str], list[tuple[int, int | None, str | None]]]:
    """For (user id, resource id) pairs: the spans (since, until, revoking event) in which some grant path held,
    from every path whose hops began before `before_ms`."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for uid, rid in pairs:
        wanted[uid].append(rid)
    rows = [{"uid": u, "rids": sorted(r)} for u, r in sorted(wanted.items())]
    out: dict[tuple[str, str], list[tuple[int, int | None, str | None]]] = defaultdict(list)
    if not rows:
        return out
    for r in db.read(_ACCESS_EVER, org=organization, rows=rows, t=before_ms):
        since, until = _span((h[0], h[1]) for h in r["hops"])
        if until is None or since < until:
            revoked = next((h[2] for h in r["hops"] if h[1] == until), None) if until is not None else None
            out[(r["uid"], r["rid"])].append((since, until, revoked))
    return out


def _status_timelines(db: Database, organization: str, uids: set[str]) -> dict[str, list[tuple[int, str, str]]]:
    """Per user: (ts, status, event id) of every suspension, reactivation and deletion, in order."""
    out: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    if not uids:
        return out
    for r in db.read(_USER_STATUS, org=organization, uids=sorted(uids), types=list(_STATUS_TYPES)):
        status = _status_change(r["event_type"], _changes(loads(r["raw"])))
        if status is not None:
            out[r["uid"]].append((r["ts"], status, r["id"]))
    return out


def _account_ranges(timeline: list[tuple[int, str, str]]) -> list[tuple[int, int]]:
    """The spans in which the account was suspended or deleted."""
    out, start = [], None
    for ts, status, _ in timeline:
        if status != "active" and start is None:
            start = ts
        elif status == "active" and start is not None:
            out.append((start, ts))
            start = None
    if start is not None:
        out.append((start, _HI))
    return out


def _gaps(spans: list[tuple[int, int | None, str | None]]) -> list[tuple[int, int]]:
    """The spans, after access first began, in which no grant path held."""
    merged: list[list[int]] = []
    for since, until, _ in sorted(spans, key=lambda x: x[0]):
        end = _HI if until is None else until
        if merged and since <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([since, end])
    gaps = [(a[1], b[0]) for a, b in zip(merged, merged[1:])]
    if merged and merged[-1][1] < _HI:
        gaps.append((merged[-1][1], _HI))
    return gaps


def _reasons(ts: int, timeline: list[tuple[int, str, str]],
             spans: list[tuple[int, int | None, str | None]] | None) -> list[tuple[str, int, str | None]]:
    """Why a successful login at `ts` should not have happened (empty: it was fine). `spans` None: a service."""
    reasons: list[tuple[str, int, str | None]] = []
    if spans is not None:
        valid = any(s <= ts and (u is None or ts < u) for s, u, _ in spans)
        ended = [(u, rev) for _, u, rev in spans if u is not None and u <= ts]
        if not valid and ended:
            until, revoked = max(ended, key=lambda x: x[0])
            reasons.append(("access_revoked", until, revoked))
    current = [s for s in timeline if s[0] <= ts]
    if current and current[-1][1] != "active":
        reasons.append(("user_" + current[-1][1], current[-1][0], current[-1][2]))
    return reasons


def access_after_revocation(db: Database, organization: str, from_ms: int | None = None,
                            to_ms: int | None = None) -> list[AccessAfterRevocation]:
    """Successful logins in the window that should not have happened: to an application or system the user had
    no valid grant path to at that moment but had one earlier, or by a user whose account was suspended or
    deleted by then. Service logins (portal, RADIUS, LDAP) are checked for the account status only.

    Why in three steps: the window's logins are first compressed to (user, resource) pairs, the grant and account
    history of those pairs gives the suspect time ranges, and only the logins inside those ranges are fetched."""
    window = _window(from_ms, to_ms)
    auth = list(USER_AUTH_TYPES)
    rows = db.read(_SUCCESS_PAIRS, org=organization, auth=auth, **window)
    _resolve_users(db, organization, rows)
    pairs: dict[tuple[str, Ref], list[int]] = {}  # (user id, resource) -> [first, last] login time
    users: dict[str, Ref] = {}
    for r in rows:
        if r["user"] is None:
            continue  # a username no user has: nothing was ever granted to revoke
        user = _must_ref(r["user"])
        users[user.id] = user
        span = pairs.setdefault((user.id, _to_ref(r["resource"]) or _service_ref(r["service"])), [r["first"], r["last"]])
        span[0], span[1] = min(span[0], r["first"]), max(span[1], r["last"])
    windows = _reach_windows(db, organization, {(u, res.id) for u, res in pairs if res.label != "Service"},
                             window["to"])
    statuses = _status_timelines(db, organization, set(users))
    probes, resources = [], {}
    for (uid, res), (first, last) in pairs.items():
        service = res.label == "Service"
        resources[(uid, None if service else res.id, res.id if service else None)] = res
        ranges = _account_ranges(statuses.get(uid, []))
        if not service:
            ranges += _gaps(windows.get((uid, res.id), []))
        for lo, hi in ranges:
            lo, hi = max(lo, first), min(hi, last + 1)
            if lo < hi:
                probes.append({"uid": uid, "rid": None if service else res.id, "service": res.id if service else None,
                               "lo": lo, "hi": hi})
    if not probes:
        return []
    found: dict[tuple[str, Ref], tuple[str, list[tuple[str, int, str | None]]]] = {}
    for h in db.read(_SUCCESS_IN_RANGES, org=organization, auth=auth, probes=probes):
        res = resources[(h["uid"], h["rid"], h["service"])]
        spans = None if res.label == "Service" else windows.get((h["uid"], res.id), [])
        reasons = _reasons(h["ts"], statuses.get(h["uid"], []), spans)
        if reasons:
            found[(h["id"], res)] = (h["uid"], reasons)
    events = _event_refs(db, organization, [eid for eid, _ in found] + [e for _, rs in found.values() for *_, e in rs])
    out = [
        AccessAfterRevocation(events[eid], users[uid], res,
                              tuple(RevocationReason(k, at, events.get(e) if e else None) for k, at, e in reasons))
        for (eid, res), (uid, reasons) in found.items() if eid in events
    ]
    return sorted(out, key=lambda a: (a.event.ts, a.event.id, _sort_key(a.resource)))


def new_country_logins(db: Database, organization: str, from_ms: int | None = None,
                       to_ms: int | None = None) -> list[NewCountryLogin]:
    """The first successful login of a user from a country in the window, when the user had logged in
    successfully from another country before (a user's very first country is not news). History before the window
    counts: "never before" means since the first stored event."""
    window = _window(from_ms, to_ms)
    rows = db.read(_FIRST_COUNTRY, org=organization, auth=list(USER_AUTH_TYPES), **{"from": _LO, "to": window["to"]})
    _resolve_users(db, organization, rows)
    firsts: dict[str, dict[str, int]] = defaultdict(dict)
    who: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = _identity(r)
        who.setdefault(key, r)
        seen = firsts[key]
        seen[r["country"]] = min(seen.get(r["country"], r["first"]), r["first"])
    candidates = []
    for key, seen in firsts.items():
        for country, first in seen.items():
            before = tuple(sorted(c for c, t in seen.items() if t < first))
            if window["from"] <= first < window["to"] and before:
                candidates.append((key, country, first, before))
    if not candidates:
        return []
    probes = sorted({(first, country) for _, country, first, _ in candidates})
    hits = db.read(_SUCCESS_AT, org=organization, auth=list(USER_AUTH_TYPES),
                   rows=[{"ts": t, "country": c} for t, c in probes])
    _resolve_users(db, organization, hits)
    first_event: dict[tuple[str, str, int], str] = {}
    for h in hits:
        first_event.setdefault((_identity(h), h["country"], h["ts"]), h["id"])
    chosen = [(key, country, first, earlier, first_event.get((key, country, first)))
              for key, country, first, earlier in candidates]
    events = _event_refs(db, organization, [c[4] for c in chosen])
    out = []
    for key, country, _, earlier, eid in chosen:
        if eid is None or eid not in events:
            continue
        user = _to_ref(who[key]["user"])
        out.append(NewCountryLogin(events[eid], user, user.name if user else who[key]["uname"], country, earlier))
    return sorted(out, key=lambda n: (n.event.ts, n.event.id))


# ---- entity lookups ---------------------------------------------------------------------------------------------


def _entity(row: dict[str, Any]) -> Entity:
    props = {k: v for k, v in row["props"].items() if k not in _INTERNAL_PROPS}
    return Entity(row["label"], row["id"], props)


def _find_by_id(db: Database, organization: str, entity_id: str) -> Entity | None:
    rows = db.read(_BY_ID, org=organization, id=entity_id)
    rows.sort(key=lambda r: ENTITY_LABELS.index(r["label"]))  # a typed label before the generic Resource
    return _entity(rows[0]) if rows else None


def find_entities(db: Database, organization: str, label: str | None, id: str | None = None, limit: int = 100,
                  **name: str) -> list[Entity]:
    """Entities by id (any label when `label` is None) or by one name property of the label (LOOKUP_KEYS: user by
    username or email, admin by email, group by name, system by hostname, application by name, IP by address).
    Exact match; an unknown label or property is a ValueError."""
    if label is not None and label not in LOOKUP_KEYS:
        raise ValueError(f"unknown entity label {label!r}")
    if not ((id is not None and not name) or (id is None and len(name) == 1)):
        raise ValueError("give exactly one of id or a single name property")
    if id is not None:
        if label is None:
            found = _find_by_id(db, organization, id)
            return [found] if found else []
        key, value = ("address", id.strip().lower()) if label == "IPAddress" else ("id", id)
    else:
        if label is None:
            raise ValueError("looking up by name needs a label")
        ((key, value),) = name.items()
        if key not in LOOKUP_KEYS[label]:
            raise ValueError(f"{label} cannot be looked up by {key!r} (only {', '.join(('id',) + LOOKUP_KEYS[label])})")
        if label == "IPAddress":
            value = value.strip().lower()
    rows = db.read(_lookup_query(label, key), org=organization, value=value, limit=int(limit))
    return [_entity(r) for r in rows]


def get_entity(db: Database, organization: str, label: str | None, id: str | None = None,
               **name: str) -> Entity | None:
    """One entity (see find_entities); when a name matches several, the one with the smallest id."""
    found = find_entities(db, organization, label, id, limit=1, **name)
    return found[0] if found else None


def neighbours(db: Database, organization: str, label: str, id: str, as_of_ms: int | None = None,
               limit: int = 500) -> list[Neighbour]:
    """Entities joined to this one by a MEMBER_OF / HAS_ACCESS_TO / ASSOCIATED_WITH edge valid at the instant."""
    if label not in LOOKUP_KEYS:
        raise ValueError(f"unknown entity label {label!r}")
    key = id.strip().lower() if label == "IPAddress" else id
    rows = db.read(_neighbours_query(label), org=organization, id=key, t=_at(as_of_ms), limit=int(limit))
    return [Neighbour(r["rel"], "out" if r["out"] else "in", _must_ref(r["node"]), r["since"], r["until"],
                      r["granted"], r["revoked"]) for r in rows]
