"""The traversals against the real Neo4j: the sample story (lifecycle, access at two instants, what changed and why),
organization isolation, and small hand-built worlds for nested groups, system groups, direct bindings, re-grants
and the investigations (failure bursts, access after revocation, new countries)."""

from __future__ import annotations

from typing import Any

import pytest

from app.model.times import parse_timestamp
import graph as T
from app.model.results import Actor, Association, Change, Ref
from graph.fragments import MAX_HOPS
from tests.conftest import BUILD01, ENGINEERING, GITHUB, REVOKE, SAMPLE_ADMIN, SLUCERO, ingest, new_org, sample_events


def ms(text: str) -> int:
    return parse_timestamp(text)


JUNE_10, JUNE_21 = ms("2020-06-10T00:00:00Z"), ms("2020-06-21T00:00:00Z")


# ---- vendor-shaped event builders -----------------------------------------------------------------------------

ADMIN = {"id": "ad0000000000000000000001", "type": "admin", "email": "it@example.org"}


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> str:
    return f"2024-03-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.000Z"


def user(uid: str, username: str) -> dict[str, Any]:
    return {"id": uid, "type": "user", "username": username}


def obj(typ: str, oid: str, name: str) -> dict[str, Any]:
    return {"object_id": oid, "type": typ, "name": name}


def base(org: str, eid: str, ts: str, event_type: str, service: str = "directory", **extra: Any) -> dict[str, Any]:
    ev = {"id": eid, "organization": org, "event_type": event_type, "service": service, "timestamp": ts,
          "@version": "1"}
    ev.update(extra)
    return ev


def assoc(org: str, eid: str, ts: str, op: str, a: dict, b: dict) -> dict[str, Any]:
    res = b if b["type"].endswith("group") else a
    return base(org, eid, ts, "association_change", initiated_by=ADMIN, client_ip="97.122.1.1",
                geoip={"country_code": "US"},
                resource={"id": res["object_id"], "type": res["type"], "name": res["name"]},
                association={"op": op, "action_source": "manual", "connection": {"from": a, "to": b}})


def create_user(org: str, eid: str, ts: str, u: dict) -> dict[str, Any]:
    return base(org, eid, ts, "user_create", initiated_by=ADMIN, client_ip="97.122.1.1", resource=u,
                changes=[{"field": "username", "to": u["username"]}])


def suspend(org: str, eid: str, ts: str, u: dict, suspended: bool = True) -> dict[str, Any]:
    return base(org, eid, ts, "user_update", initiated_by=ADMIN, client_ip="97.122.1.1", resource=u,
                changes=[{"field": "suspended", "from": not suspended, "to": suspended}])


def sso(org: str, eid: str, ts: str, u: dict, app: dict, success: bool = True, country: str = "US",
        ip: str = "97.122.2.2", mfa: bool = False) -> dict[str, Any]:
    return base(org, eid, ts.replace(".000Z", ".000000000Z"), "sso_auth", "sso", initiated_by=u,
                application={"id": app["object_id"], "name": app["name"], "display_label": app["name"]},
                success=success, mfa=mfa, client_ip=ip, geoip={"country_code": country})


def portal(org: str, eid: str, ts: str, u: dict, success: bool = True, country: str = "US",
           ip: str = "97.122.2.2") -> dict[str, Any]:
    return base(org, eid, ts, "user_login_attempt", initiated_by=u, success=success, mfa=False, client_ip=ip,
                geoip={"country_code": country})


def radius(org: str, eid: str, ts: str, username: str, success: bool = True, country: str = "US") -> dict[str, Any]:
    return base(org, eid, ts.replace(".000Z", "Z"), "radius_auth_attempt", "radius",
                initiated_by={"type": "user", "username": username}, username=username, success=success, mfa=False,
                client_ip="10.20.0.14", geoip={"country_code": country})


def ssh(org: str, eid: str, ts: str, username: str, system: dict, success: bool = True) -> dict[str, Any]:
    return base(org, eid, ts.replace(".000Z", "Z"), "login_attempt", "systems",
                initiated_by={"type": "systemuser", "id": "5e" + eid, "username": username}, username=username,
                system={"id": system["object_id"], "hostname": system["name"], "displayName": system["name"]},
                success=success, mfa=False, client_ip="10.20.0.9", src_ip="10.20.0.9", process_name="sshd")


def names(refs: Any) -> set[str | None]:
    return {r.name for r in refs}


# ---- the shared sample --------------------------------------------------------------------------------------


@pytest.fixture
def sample_org(db, org) -> str:
    summary = ingest(db, sample_events(org))
    assert summary.accepted == 12
    return org


def test_sample_lifecycle_tells_slucero_story_in_order(db, sample_org):
    story = T.lifecycle(db, sample_org, SLUCERO)
    assert [(e.id, e.event_type, e.kind) for e in story] == [
        ("5eda6ab54fd13527dcd9ccfb", "user_create", "created"),
        ("5eda6c104fd13527dcd9cd20", "association_change", "association_added"),
        (REVOKE, "association_change", "association_removed"),
        ("5ee0001a4fd13527dcd9cf10", "user_update", "suspended"),
    ]
    assert [e.ts for e in story] == sorted(e.ts for e in story)
    created, added, removed, suspended = story
    assert created.ts == ms("2020-06-05T15:54:29.568Z")
    assert created.initiator == Actor("admin", SAMPLE_ADMIN, "admin@example.org", None)
    assert (created.client_ip, created.country) == ("97.122.249.157", "US")
    assert Change("username", None, "slucero") in created.changes
    assert created.target == Ref("User", "user", SLUCERO, "slucero")
    engineering = Ref("Group", "user_group", ENGINEERING, "Engineering")
    for entry, op in ((added, "add"), (removed, "remove")):
        assert entry.counterpart == engineering
        assert entry.association is not None
        assert (entry.association.op, entry.association.relationship) == (op, "MEMBER_OF")
        assert entry.association.source.id == SLUCERO
    assert suspended.changes == (Change("suspended", False, True),)
    assert suspended.counterpart is None


def test_sample_access_history_covers_every_service(db, sample_org):
    history = {a.resource.name: a for a in T.access_history(db, sample_org, SLUCERO)}
    assert set(history) == {"GitHub", "build-01", "RADIUS", "LDAP", "User Portal"}
    github = history["GitHub"]
    assert github.resource == Ref("Application", "application", GITHUB, "GitHub")
    assert (github.attempts, github.successes, github.failures, github.mfa_share) == (1, 1, 0, 1.0)
    assert github.first_seen == github.last_seen == ms("2020-06-09T14:01:10.123Z")
    assert (github.countries, github.client_ips) == (("US",), ("97.122.249.157",))
    build = history["build-01"]  # a systemuser login, matched by username
    assert build.resource.label == "System" and build.successes == 1 and build.client_ips == ("10.20.0.14",)
    rad = history["RADIUS"]  # no user id in the event: matched by username
    assert rad.resource == Ref("Service", "radius", "radius", "RADIUS")
    assert (rad.successes, rad.failures, rad.last_success) == (0, 1, None)
    assert history["LDAP"].successes == 1 and history["User Portal"].successes == 1
    windowed = T.access_history(db, sample_org, SLUCERO, ms("2020-06-10T00:00:00Z"), ms("2020-06-11T00:00:00Z"))
    assert names(a.resource for a in windowed) == {"build-01", "LDAP"}


def test_sample_access_on_june_10_via_engineering(db, sample_org):
    access = {a.resource.name: a for a in T.access_as_of(db, sample_org, SLUCERO, JUNE_10)}
    assert set(access) == {"GitHub", "build-01"}
    assert access["GitHub"].resource.label == "Application" and access["build-01"].resource.label == "System"
    for name, grant in (("GitHub", "5eda6c204fd13527dcd9cd30"), ("build-01", "5eda6c304fd13527dcd9cd40")):
        (path,) = access[name].paths
        assert path.kind == "group"
        member, bound = path.hops
        assert (member.source.id, member.relationship, member.target.name) == (SLUCERO, "MEMBER_OF", "Engineering")
        assert (bound.source.name, bound.relationship, bound.target.name) == ("Engineering", "HAS_ACCESS_TO", name)
        assert member.granted_by_event == "5eda6c104fd13527dcd9cd20" and member.revoked_by_event == REVOKE
        assert bound.granted_by_event == grant and bound.until is None
        for hop in path.hops:
            assert hop.granted_by is not None and hop.granted_by.initiator is not None
            assert hop.granted_by.initiator.email == "admin@example.org"
            assert hop.granted_by.initiator.id == SAMPLE_ADMIN
            assert hop.granted_by.client_ip == "97.122.249.157"
            assert hop.granted_by.ts == hop.since
        assert (path.since, path.until) == (bound.since, member.until)
    assert [p.kind for p in T.access_path(db, sample_org, SLUCERO, GITHUB, JUNE_10)] == ["group"]
    (group,) = T.groups_as_of(db, sample_org, SLUCERO, JUNE_10)
    assert (group.group.name, group.direct, group.depth) == ("Engineering", True, 1)
    assert [p.user.name for p in T.who_can_access(db, sample_org, BUILD01, JUNE_10)] == ["slucero"]
    assert [m.member.id for m in T.members_as_of(db, sample_org, ENGINEERING, JUNE_10)] == [SLUCERO]


def test_sample_access_gone_on_june_21(db, sample_org):
    assert T.access_as_of(db, sample_org, SLUCERO, JUNE_21) == []
    assert T.access_path(db, sample_org, SLUCERO, GITHUB, JUNE_21) == []
    assert T.groups_as_of(db, sample_org, SLUCERO, JUNE_21) == []
    assert T.who_can_access(db, sample_org, GITHUB, JUNE_21) == []
    assert T.members_as_of(db, sample_org, ENGINEERING, JUNE_21) == []
    assert T.access_as_of(db, sample_org, SLUCERO, ms("2020-06-01T00:00:00Z")) == []  # before it all


def test_sample_access_diff_names_the_revoking_event(db, sample_org):
    diff = T.access_diff(db, sample_org, SLUCERO, JUNE_10, JUNE_21)
    assert diff.gained == ()
    assert {c.resource.name for c in diff.lost} == {"GitHub", "build-01"}
    for change in diff.lost:
        assert [e.id for e in change.events] == [REVOKE]
        assert change.events[0].initiator is not None and change.events[0].initiator.email == "admin@example.org"
    gained = T.access_diff(db, sample_org, SLUCERO, ms("2020-06-01T00:00:00Z"), JUNE_10)
    assert gained.lost == ()
    by_name = {c.resource.name: [e.id for e in c.events] for c in gained.gained}
    assert by_name == {"GitHub": ["5eda6c104fd13527dcd9cd20", "5eda6c204fd13527dcd9cd30"],
                       "build-01": ["5eda6c104fd13527dcd9cd20", "5eda6c304fd13527dcd9cd40"]}


def test_organizations_never_see_each_other(db):
    org_a, org_b = new_org(), new_org()
    ingest(db, sample_events(org_a))
    other = [ev for ev in sample_events(org_b) if ev["id"] != REVOKE]  # in B the membership is never revoked
    slack = obj("application", "5ed0cc0e4fd13527dcd9cc01", "Slack")
    other += [
        assoc(org_b, "b1", "2020-06-06T00:00:00Z", "add", obj("user_group", ENGINEERING, "Engineering"), slack),
        sso(org_b, "b2", "2020-06-12T00:00:00.000Z", user(SLUCERO, "slucero"),
            obj("application", GITHUB, "GitHub"), country="DE"),
        radius(org_b, "b3", "2020-06-12T01:00:00.000Z", "slucero", country="FR"),
    ]
    ingest(db, other)

    assert names(a.resource for a in T.access_as_of(db, org_b, SLUCERO, JUNE_21)) == {"GitHub", "build-01", "Slack"}
    assert len(T.new_country_logins(db, org_b)) == 2  # B itself sees its own story

    assert T.access_as_of(db, org_a, SLUCERO, JUNE_21) == []
    assert names(a.resource for a in T.access_as_of(db, org_a, SLUCERO, JUNE_10)) == {"GitHub", "build-01"}
    assert [c.resource.name for c in T.access_diff(db, org_a, SLUCERO, JUNE_10, JUNE_21).lost] == ["GitHub",
                                                                                                   "build-01"]
    history = {a.resource.name: a for a in T.access_history(db, org_a, SLUCERO)}
    assert history["GitHub"].attempts == 1 and history["RADIUS"].attempts == 1
    assert [(w.username, w.attempts) for w in T.who_accessed(db, org_a, GITHUB)] == [("slucero", 1)]
    assert [(w.username, w.attempts) for w in T.who_accessed(db, org_a, "radius")] == [("slucero", 1)]
    assert T.who_can_access(db, org_a, GITHUB, JUNE_21) == []
    assert T.new_country_logins(db, org_a) == []
    assert T.access_after_revocation(db, org_a) == []
    assert len(T.lifecycle(db, org_a, SLUCERO)) == 4
    assert T.get_entity(db, org_a, "Application", name="Slack") is None
    assert T.get_entity(db, org_a, None, id=slack["object_id"]) is None
    assert len(T.admin_changes(db, org_a, SAMPLE_ADMIN)) == 7
    assert [n.node.name for n in T.neighbours(db, org_a, "Group", ENGINEERING, JUNE_21)] == ["GitHub", "build-01"]
    bursts = T.failed_login_bursts(db, org_a, 86_400_000, 1)
    assert [(b.username, b.count) for b in bursts] == [("slucero", 1)]


# ---- a hand-built world: nested groups, system groups, a direct binding granted twice ------------------------

ALICE, BOB = user("u0000000000000000000000a1", "alice"), user("u0000000000000000000000b1", "bob")
PLATFORM = obj("user_group", "g00000000000000000000001", "Platform")
ENG = obj("user_group", "g00000000000000000000002", "Eng")
SERVERS = obj("system_group", "sg0000000000000000000001", "Servers")
SRV1 = obj("system", "s000000000000000000000a1", "srv-1")
JIRA = obj("application", "a00000000000000000000001", "Jira")
FIGMA = obj("application", "a00000000000000000000002", "Figma")


def uobj(u: dict) -> dict:
    return obj("user", u["id"], u["username"])


def world(org: str) -> list[dict[str, Any]]:
    return [
        create_user(org, "w01", at(1, 9), ALICE),
        create_user(org, "w02", at(1, 9, 1), BOB),
        assoc(org, "w03", at(1, 10), "add", uobj(ALICE), PLATFORM),
        assoc(org, "w04", at(1, 10, 1), "add", PLATFORM, ENG),  # nested: Platform is a member of Eng
        assoc(org, "w05", at(1, 10, 2), "add", uobj(BOB), ENG),
        assoc(org, "w06", at(1, 10, 3), "add", ENG, JIRA),
        assoc(org, "w07", at(1, 10, 4), "add", ENG, SERVERS),  # user group -> system group
        assoc(org, "w08", at(1, 10, 5), "add", SRV1, SERVERS),  # system -> system group
        assoc(org, "d1", at(5), "add", uobj(BOB), FIGMA),  # direct user -> application, twice
        assoc(org, "d2", at(10), "remove", uobj(BOB), FIGMA),
        assoc(org, "d3", at(15), "add", uobj(BOB), FIGMA),
        assoc(org, "w09", at(20), "remove", SRV1, SERVERS),  # the system leaves its group
    ]


@pytest.fixture
def world_org(db, org) -> str:
    assert ingest(db, world(org)).accepted == 12
    return org


def test_nested_groups(db, world_org):
    groups = {g.group.name: g for g in T.groups_as_of(db, world_org, ALICE["id"], ms(at(2)))}
    assert {n: (g.direct, g.depth) for n, g in groups.items()} == {"Platform": (True, 1), "Eng": (False, 2)}
    assert [h.target.name for h in groups["Eng"].paths[0].hops] == ["Platform", "Eng"]
    assert groups["Eng"].paths[0].kind == "nested"
    members = {m.member.name: m for m in T.members_as_of(db, world_org, ENG["object_id"], ms(at(2)))}
    assert {n: (m.member.label, m.direct, m.depth) for n, m in members.items()} == {
        "Platform": ("Group", True, 1), "bob": ("User", True, 1), "alice": ("User", False, 2)}
    (jira,) = T.access_path(db, world_org, ALICE["id"], JIRA["object_id"], ms(at(2)))
    assert jira.kind == "nested_group"
    assert [(h.source.name, h.relationship, h.target.name) for h in jira.hops] == [
        ("alice", "MEMBER_OF", "Platform"), ("Platform", "MEMBER_OF", "Eng"), ("Eng", "HAS_ACCESS_TO", "Jira")]
    assert all(h.granted_by and h.granted_by.initiator and h.granted_by.initiator.email == "it@example.org"
               for h in jira.hops)
    assert T.groups_as_of(db, world_org, ALICE["id"], ms(at(1, 9, 30))) == []


def test_system_groups_reach_their_systems(db, world_org):
    access = {a.resource.name: a for a in T.access_as_of(db, world_org, ALICE["id"], ms(at(2)))}
    assert set(access) == {"Jira", "srv-1"}  # the system group is a way in, not a resource
    (path,) = access["srv-1"].paths
    assert path.kind == "nested_group+system_group"
    assert len(path.hops) == 4 <= MAX_HOPS
    last = path.hops[-1]
    assert (last.source.name, last.relationship, last.target.name, last.target.type) == (
        "srv-1", "MEMBER_OF", "Servers", "system_group")
    assert path.hops[2].target == Ref("Group", "system_group", SERVERS["object_id"], "Servers")
    bob = {a.resource.name: [p.kind for p in a.paths] for a in T.access_as_of(db, world_org, BOB["id"], ms(at(2)))}
    assert bob == {"Jira": ["group"], "srv-1": ["group+system_group"]}
    who = {p.user.name: [len(x.hops) for x in p.paths] for p in T.who_can_access(db, world_org, SRV1["object_id"],
                                                                                   ms(at(2)))}
    assert who == {"alice": [4], "bob": [3]}
    assert [m.member.name for m in T.members_as_of(db, world_org, SERVERS["object_id"], ms(at(2)))] == ["srv-1"]
    assert T.access_path(db, world_org, ALICE["id"], SRV1["object_id"], ms(at(21))) == []
    assert T.who_can_access(db, world_org, SRV1["object_id"], ms(at(21))) == []
    assert T.members_as_of(db, world_org, SERVERS["object_id"], ms(at(21))) == []
    diff = T.access_diff(db, world_org, ALICE["id"], ms(at(2)), ms(at(21)))
    assert [(c.resource.name, [e.id for e in c.events]) for c in diff.lost] == [("srv-1", ["w09"])]
    assert T.get_entity(db, world_org, "System", hostname="srv-1") is None  # the grant events carry only a name
    assert T.get_entity(db, world_org, "System", name="srv-1").id == SRV1["object_id"]


def test_direct_binding_revoked_and_granted_again(db, world_org):
    bob, figma = BOB["id"], FIGMA["object_id"]
    (first,) = T.access_path(db, world_org, bob, figma, ms(at(6)))
    assert first.kind == "direct" and [h.granted_by_event for h in first.hops] == ["d1"]
    assert (first.hops[0].until, first.hops[0].revoked_by_event) == (ms(at(10)), "d2")
    assert T.access_path(db, world_org, bob, figma, ms(at(12))) == []
    assert T.access_path(db, world_org, bob, figma, ms(at(10))) == []  # `until` is exclusive
    (second,) = T.access_path(db, world_org, bob, figma, ms(at(16)))
    assert (second.since, second.until, second.hops[0].granted_by_event) == (ms(at(15)), None, "d3")
    lost = T.access_diff(db, world_org, bob, ms(at(6)), ms(at(12)))
    assert ([c.resource.name for c in lost.lost], lost.gained) == (["Figma"], ())
    assert [e.id for e in lost.lost[0].events] == ["d2"]
    gained = T.access_diff(db, world_org, bob, ms(at(12)), ms(at(16)))
    assert [(c.resource.name, [e.id for e in c.events]) for c in gained.gained] == [("Figma", ["d3"])]
    assert T.access_diff(db, world_org, bob, ms(at(6)), ms(at(16))).lost == ()  # lost and regained in between
    near = {(n.relationship, n.direction, n.node.name) for n in T.neighbours(db, world_org, "User", bob, ms(at(6)))}
    assert near == {("MEMBER_OF", "out", "Eng"), ("HAS_ACCESS_TO", "out", "Figma")}
    story = [(e.id, e.kind, e.counterpart.name if e.counterpart else None) for e in T.lifecycle(db, world_org, bob)]
    assert story == [("w02", "created", None), ("w05", "association_added", "Eng"),
                     ("d1", "association_added", "Figma"), ("d2", "association_removed", "Figma"),
                     ("d3", "association_added", "Figma")]


def test_entity_lookups(db, world_org):
    ingest(db, [portal(world_org, "p1", at(2), ALICE, ip="97.122.9.9")])
    assert T.get_entity(db, world_org, "User", id=ALICE["id"]).props["username"] == "alice"
    assert T.get_entity(db, world_org, "User", username="bob").id == BOB["id"]
    assert T.get_entity(db, world_org, "Admin", email="it@example.org").id == ADMIN["id"]
    eng = T.get_entity(db, world_org, "Group", name="Eng")
    assert eng.ref == Ref("Group", "user_group", ENG["object_id"], "Eng")
    assert not any(k.endswith("_at") for k in eng.props)
    assert T.get_entity(db, world_org, "Application", name="Jira").id == JIRA["object_id"]
    assert T.get_entity(db, world_org, "IPAddress", address=" 97.122.9.9 ").id == "97.122.9.9"
    assert T.get_entity(db, world_org, None, id=SERVERS["object_id"]).label == "Group"
    assert T.get_entity(db, world_org, "User", username="nobody") is None
    assert len(T.find_entities(db, world_org, "Group", name="Eng")) == 1
    with pytest.raises(ValueError):
        T.get_entity(db, world_org, "User) DETACH DELETE (n", id="x")
    with pytest.raises(ValueError):
        T.get_entity(db, world_org, "User", password="x")
    with pytest.raises(ValueError):
        T.get_entity(db, world_org, "User")


def test_admin_changes_newest_first(db, world_org):
    ingest(db, [base(world_org, "l1", at(25), "admin_login_attempt", initiated_by=ADMIN, success=True)])
    changes = T.admin_changes(db, world_org, ADMIN["id"], ms(at(2)), ms(at(16)), limit=3)
    assert [c.id for c in changes] == ["d3", "d2", "d1"]
    assert [c.kind for c in changes] == ["association_added", "association_removed", "association_added"]
    assert changes[0].association == Association("add", Ref("User", "user", BOB["id"], "bob"),
                                                   Ref("Application", "application", FIGMA["object_id"], "Figma"),
                                                   "HAS_ACCESS_TO")
    assert T.admin_changes(db, world_org, ADMIN["id"], limit=1, include_logins=True)[0].id == "l1"
    window = T.admin_changes(db, world_org, ADMIN["id"], ms(at(1)), ms(at(2)))
    assert [c.id for c in window] == ["w08", "w07", "w06", "w05", "w04", "w03", "w02", "w01"]
    assert window[-1].kind == "created" and window[-1].target == Ref("User", "user", ALICE["id"], "alice")


# ---- investigations -----------------------------------------------------------------------------------------

CAROL, DAVE = user("u0000000000000000000000c1", "carol"), user("u0000000000000000000000d1", "dave")
BASTION = obj("system", "s0000000000000000000000b", "bastion")


def test_failed_login_bursts(db, org):
    events = [create_user(org, "c0", at(1), CAROL), create_user(org, "d0", at(1), DAVE)]
    # carol: three portal failures (with her id) and three RADIUS failures (username only) within 3 minutes
    events += [portal(org, f"cp{i}", at(3, 12, i), CAROL, False, "RU", "95.24.1.1") for i in range(3)]
    events += [radius(org, f"cr{i}", at(3, 12, 2, 10 + i), "carol", False, "RU") for i in range(3)]
    events += [portal(org, f"cs{i}", at(3, 14 + i), CAROL, False) for i in range(3)]  # an hour apart: no burst
    events += [portal(org, "cok", at(3, 12, 1, 30), CAROL, True, "RU", "95.24.1.1")]  # a success is not a failure
    events += [radius(org, f"dr{i}", at(4, 8, 0, 10 * i), "dave", False) for i in range(4)]  # 4 < threshold
    events += [ssh(org, f"x{i}", at(5, 3, 0, i), "root", BASTION, False) for i in range(5)]  # nobody's account
    ingest(db, events)
    bursts = T.failed_login_bursts(db, org, window_ms=5 * 60_000, threshold=5)
    assert [(b.user.id if b.user else None, b.username, b.count) for b in bursts] == [
        (CAROL["id"], "carol", 6), (None, "root", 5)]
    carol = bursts[0]
    assert (carol.start, carol.end) == (ms(at(3, 12)), ms(at(3, 12, 2, 12)))
    assert carol.countries == ("RU",) and carol.services == ("directory", "radius")
    assert "95.24.1.1" in carol.client_ips and len(carol.event_ids) == 6
    assert T.failed_login_bursts(db, org, 5 * 60_000, 5, from_ms=ms(at(4))) == [bursts[1]]
    assert [b.username for b in T.failed_login_bursts(db, org, 60_000, 4)] == ["carol", "dave", "root"]
    with pytest.raises(ValueError):
        T.failed_login_bursts(db, org, 0, 5)


EVE, FRANK = user("u0000000000000000000000e1", "eve"), user("u0000000000000000000000f1", "frank")
SALES = obj("user_group", "g000000000000000000000s1", "Sales")
CRM = obj("application", "a0000000000000000000000c", "CRM")


def test_access_after_revocation(db, org):
    ingest(db, [
        create_user(org, "e0", at(1), EVE), create_user(org, "f0", at(1), FRANK),
        assoc(org, "g1", at(1, 1), "add", uobj(EVE), SALES),
        assoc(org, "g2", at(1, 2), "add", SALES, CRM),
        sso(org, "ok1", at(5), EVE, CRM),  # while granted
        assoc(org, "rm", at(10), "remove", uobj(EVE), SALES),
        sso(org, "bad1", at(11), EVE, CRM),  # after the membership ended
        sso(org, "fail", at(11, 1), EVE, CRM, success=False),  # a failure is the system working
        sso(org, "never", at(11, 2), FRANK, CRM),  # never had it: not a revocation
        suspend(org, "sus", at(12), EVE),
        radius(org, "bad2", at(13), "eve"),  # suspended, through a service
        sso(org, "bad3", at(13, 1), EVE, CRM),  # both reasons
        suspend(org, "unsus", at(14), EVE, False),
        assoc(org, "g3", at(14, 1), "add", uobj(EVE), SALES),
        sso(org, "ok2", at(15), EVE, CRM),  # granted again, active again
        base(org, "lock", at(16), "user_lockout", initiated_by=ADMIN, resource=EVE),
        sso(org, "bad4", at(16, 1), EVE, CRM),  # a locked account signing in: the same rules as User.status
        base(org, "unlock", at(17), "user_unlocked", initiated_by=ADMIN, resource=EVE),
        sso(org, "ok3", at(17, 1), EVE, CRM),
    ])
    found = T.access_after_revocation(db, org)
    assert [(f.event.id, f.resource.name, [r.kind for r in f.reasons]) for f in found] == [
        ("bad1", "CRM", ["access_revoked"]),
        ("bad2", "RADIUS", ["user_suspended"]),
        ("bad3", "CRM", ["access_revoked", "user_suspended"]),
        ("bad4", "CRM", ["user_locked"]),
    ]
    bad1 = found[0]
    assert bad1.user == Ref("User", "user", EVE["id"], "eve")
    assert (bad1.reasons[0].at, bad1.reasons[0].event.id) == (ms(at(10)), "rm")
    assert bad1.reasons[0].event.initiator.email == "it@example.org"
    assert (bad1.event.ts, bad1.event.success, bad1.event.client_ip) == (ms(at(11)), True, "97.122.2.2")
    assert (found[1].reasons[0].at, found[1].reasons[0].event.id) == (ms(at(12)), "sus")
    assert (found[3].reasons[0].at, found[3].reasons[0].event.id) == (ms(at(16)), "lock")
    assert [f.event.id for f in T.access_after_revocation(db, org, ms(at(12)), ms(at(16)))] == ["bad2", "bad3"]
    assert T.access_after_revocation(db, org, ms(at(14)), ms(at(16))) == []
    assert T.access_after_revocation(db, org, ms(at(17)), None) == []


GINA, HENRY = user("u00000000000000000000a0a1", "gina"), user("u00000000000000000000a0b1", "henry")


def test_new_country_logins(db, org):
    ingest(db, [
        portal(org, "n1", at(1), GINA, country="US"),
        sso(org, "n2", at(2), GINA, JIRA, country="US"),
        portal(org, "n3", at(5), GINA, country="DE", ip="91.64.1.1"),
        portal(org, "n4", at(6), GINA, country="DE", ip="91.64.1.1"),  # not new any more
        portal(org, "n5", at(7), GINA, success=False, country="FR"),  # a failure is not a login
        radius(org, "n6", at(8), "gina", country="CA"),  # no id: matched by username
        portal(org, "h1", at(3), HENRY, country="GB"),  # a first login ever is not news
    ])
    found = T.new_country_logins(db, org)
    assert [(f.event.id, f.username, f.country, f.previous_countries) for f in found] == [
        ("n3", "gina", "DE", ("US",)), ("n6", "gina", "CA", ("DE", "US"))]
    assert found[0].user is not None and found[0].user.id == GINA["id"]
    assert found[1].user == found[0].user
    assert (found[0].event.client_ip, found[0].event.country) == ("91.64.1.1", "DE")
    assert [f.event.id for f in T.new_country_logins(db, org, ms(at(3)), ms(at(6)))] == ["n3"]
    assert T.new_country_logins(db, org, ms(at(6)), ms(at(8))) == []


def test_who_accessed_counts_per_person(db, org):
    ingest(db, [
        create_user(org, "c0", at(1), CAROL),
        ssh(org, "s1", at(2, 1), "carol", BASTION),
        ssh(org, "s2", at(2, 2), "carol", BASTION, success=False),
        ssh(org, "s3", at(2, 3), "root", BASTION, success=False),
        radius(org, "r1", at(2, 4), "carol"),
        portal(org, "p1", at(2, 5), CAROL),
    ])
    who = T.who_accessed(db, org, BASTION["object_id"])
    assert [(w.username, w.user is not None, w.attempts, w.successes, w.failures) for w in who] == [
        ("carol", True, 2, 1, 1), ("root", False, 1, 0, 1)]
    assert (who[0].first_seen, who[0].last_seen, who[0].last_success) == (ms(at(2, 1)), ms(at(2, 2)), ms(at(2, 1)))
    assert [w.username for w in T.who_accessed(db, org, BASTION["object_id"], ms(at(2, 2)), ms(at(2, 3)))] == ["carol"]
    assert [(w.username, w.attempts) for w in T.who_accessed(db, org, "radius")] == [("carol", 1)]
    assert [(w.username, w.attempts) for w in T.who_accessed(db, org, "directory")] == [("carol", 1)]
    assert T.who_accessed(db, org, "no-such-thing") == []
