"""Identity across protocols and over time, through HTTP against a real Neo4j: every sign-in belongs to whoever
held the name it used at that instant (rename, reused username, letter case, RADIUS / LDAP / system / SSO by
email), whatever the arrival order; names nobody held are listed; a suspended account's access is not effective."""

from __future__ import annotations

import random

from tests.conftest import ingest, make_key, new_org, snapshot
from tests.identity_story import GROUP, HIRE, JDOE, LEAVER, SYSTEM, T, look_alike, story
from tests.test_graphql import data


def iso(name: str) -> str:
    """A story instant as GraphQL prints it."""
    return T[name].replace("Z", "+00:00")

SIGNINS = """query($id: ID!) { user(id: $id) { username
  accessHistory { resource { name } attempts successes failures } } }"""


def _signins(client, key: str, uid: str) -> dict[str, tuple[int, int]]:
    user = data(client, key, SIGNINS, {"id": uid})["user"]
    return {a["resource"]["name"]: (a["attempts"], a["failures"]) for a in user["accessHistory"]}


def test_every_sign_in_belongs_to_who_held_the_name_then(db, org, client):
    ingest(db, story(org))
    key = make_key(db, org)
    # jdoe: RADIUS as "jdoe" before the rename, LDAP (dn uid=John.Doe) and a system login as JOHN.DOE after it,
    # SSO by email, RADIUS while suspended; the RADIUS attempt as "jdoe" after the rename is nobody's.
    assert _signins(client, key, JDOE) == {"RADIUS": (2, 0), "LDAP": (1, 0), "bastion": (1, 0), "Wiki": (1, 0)}
    assert _signins(client, key, LEAVER) == {"RADIUS": (1, 0)}  # not the new hire's
    assert _signins(client, key, HIRE) == {"RADIUS": (1, 0)}  # "LEE", not the leaver's

    gone = data(client, key, "{ unresolvedIdentities { kind name attempts failures firstSeen lastSeen services } }")
    assert gone["unresolvedIdentities"] == [
        {"kind": "username", "name": "jdoe", "attempts": 1, "failures": 1, "firstSeen": iso("radius_old_name"),
         "lastSeen": iso("radius_old_name"), "services": ["radius"]},
        {"kind": "username", "name": "lee", "attempts": 1, "failures": 1, "firstSeen": iso("radius_gap"),
         "lastSeen": iso("radius_gap"), "services": ["radius"]},
    ]

    who = """query($name: String!, $at: DateTime) { user(username: $name, asOf: $at) { id username } }"""
    assert data(client, key, who, {"name": "JDOE", "at": T["radius_jdoe"]})["user"]["id"] == JDOE
    assert data(client, key, who, {"name": "jdoe", "at": T["radius_old_name"]})["user"] is None
    assert data(client, key, who, {"name": "lee", "at": T["radius_leaver"]})["user"]["id"] == LEAVER
    assert data(client, key, who, {"name": "lee", "at": None})["user"]["id"] == HIRE
    assert data(client, key, who, {"name": "john.doe", "at": None})["user"]["id"] == JDOE

    accessors = data(client, key, """query($id: ID!) { system(id: $id) { whoAccessed { user { id } username } } }""",
                     {"id": SYSTEM})["system"]["whoAccessed"]
    assert accessors == [{"user": {"id": JDOE}, "username": "john.doe"}]


def test_a_suspended_account_is_entitled_but_blocked(db, org, client):
    ingest(db, story(org))
    key = make_key(db, org)
    q = """query($id: ID!, $sys: ID!, $at: DateTime) { user(id: $id) {
      status(asOf: $at) { status since byEvent } statusHistory { status }
      access(asOf: $at) { resource { id } status effective blockedBy }
      accessPath(to: $sys, asOf: $at) { kind effective blockedBy }
      accessDiff(from: "2021-06-15T00:00:00Z", to: "2021-06-25T00:00:00Z") { fromStatus toStatus } }
      system(id: $sys) { whoCanAccess(asOf: $at) { user { id } status effective blockedBy } } }"""
    before = data(client, key, q, {"id": JDOE, "sys": SYSTEM, "at": "2021-06-15T00:00:00Z"})
    assert before["user"]["status"]["status"] == "active"
    assert before["user"]["access"] == [{"resource": {"id": SYSTEM}, "status": "active", "effective": True,
                                         "blockedBy": None}]
    after = data(client, key, q, {"id": JDOE, "sys": SYSTEM, "at": "2021-06-25T00:00:00Z"})
    user = after["user"]
    assert user["status"]["status"] == "suspended" and user["status"]["since"] == iso("suspend")
    assert [s["status"] for s in user["statusHistory"]] == ["active", "suspended"]
    assert user["access"] == [{"resource": {"id": SYSTEM}, "status": "suspended", "effective": False,
                               "blockedBy": "suspended"}]
    assert user["accessPath"] == [{"kind": "group", "effective": False, "blockedBy": "suspended"}]  # entitled
    assert user["accessDiff"] == {"fromStatus": "active", "toStatus": "suspended"}
    assert after["system"]["whoCanAccess"] == [{"user": {"id": JDOE}, "status": "suspended", "effective": False,
                                                "blockedBy": "suspended"}]
    assert GROUP  # the grant runs through the Ops group


def test_arrival_order_and_batch_split_do_not_change_the_graph(db):
    reference = new_org()
    ingest(db, story(reference))
    expected = snapshot(db, reference)
    for seed, batch in ((1, 1), (2, 3), (3, 7), (4, 100)):
        org = new_org()
        events = story(org)
        random.Random(seed).shuffle(events)
        ingest(db, events, batch_size=batch)
        assert snapshot(db, org) == expected, (seed, batch)


def test_a_look_alike_organization_never_resolves_to_the_other(db, org, client):
    other = new_org()
    ingest(db, story(org) + look_alike(org, other))
    key = make_key(db, other)
    gone = data(client, key, "{ unresolvedIdentities { name attempts } }")["unresolvedIdentities"]
    assert {g["name"] for g in gone} == {"jdoe", "john.doe", "lee", "jdoe@example.org"}
    assert sum(g["attempts"] for g in gone) == 9  # every sign-in of the story: six RADIUS, LDAP, system, SSO
    links = db.read("MATCH (e:Event {organization: $o})-[:AUTHENTICATED_AS]->(u) RETURN count(*) AS n", o=other)
    assert links == [{"n": 0}]


def test_concurrent_writers_of_one_story_give_the_serial_graph(db):
    """Four writers, each the whole story shuffled in batches of two, into one organization at once: each event
    stored once, and the names' intervals and sign-in links exactly those of a serial ingest."""
    import threading

    from app.ingest import Pipeline
    from app.ingest.records import Record

    reference, org = new_org(), new_org()
    ingest(db, story(reference))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        mine = story(org)
        random.Random(n).shuffle(mine)
        try:
            Pipeline(db, None, 2, org).run([Record(f"index {i}", ev) for i, ev in enumerate(mine)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors
    assert snapshot(db, org) == snapshot(db, reference)


def test_a_name_learnt_from_sign_ins_follows_the_newest_one(db):
    """A user with no lifecycle events is known by the newest username its own sign-ins carried: a RADIUS sign-in
    under that name resolves to the user once a newer event renames the User node, whatever the batches."""
    uid = "a1000000000000000000000a"

    def events(org: str) -> list[dict]:
        n = iter(range(1, 100))

        def ev(event_type: str, service: str, day: int, **fields) -> dict:
            return {"id": f"{next(n):024x}", "organization": org, "event_type": event_type, "service": service,
                    "timestamp": f"2021-07-{day:02d}T10:00:00Z", **fields}

        def portal(day: int, username: str) -> dict:
            return ev("login_attempt", "sso", day, initiated_by={"type": "user", "id": uid, "username": username},
                      success=True)

        def radius(day: int, username: str) -> dict:
            return ev("radius_auth_attempt", "radius", day, initiated_by={"type": "user", "username": username},
                      username=username, success=True)

        return [portal(1, "ann"), radius(2, "ann"), portal(3, "ann.lee"), radius(4, "ann.lee")]

    def resolved(org: str) -> dict[str, str | None]:
        rows = db.read("MATCH (e:Event {organization: $org, event_type: 'radius_auth_attempt'}) "
                       "OPTIONAL MATCH (e)-[:AUTHENTICATED_AS]->(u:User) RETURN e.f_username AS name, u.id AS user",
                       org=org)
        return {r["name"]: r["user"] for r in rows}

    reference = new_org()
    ingest(db, events(reference))
    assert resolved(reference)["ann.lee"] == uid
    expected = snapshot(db, reference)
    for batch in (1, 2):  # the rename arrives in a later batch than the first name
        org = new_org()
        ingest(db, events(org), batch_size=batch)
        assert resolved(org)["ann.lee"] == uid, batch
        assert snapshot(db, org) == expected, batch
