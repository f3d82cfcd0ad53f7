"""The foundation, against the real Neo4j: the sample story becomes the expected graph, writes are idempotent and
order-independent, bad input is rejected precisely without spoiling good input, and events come back losslessly."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from app.model.jsonutil import loads
from tests.identity_story import story as identity_story
from tests.conftest import ENGINEERING, SLUCERO, ingest, new_org, sample_events, snapshot


def ms(text: str) -> int:
    from app.model.times import parse_timestamp

    return parse_timestamp(text)


def test_sample_builds_the_expected_graph(db, org):
    summary = ingest(db, sample_events(org))
    assert (summary.accepted, summary.duplicates, summary.rejected) == (12, 0, [])

    labels = {r["label"]: r["n"] for r in db.read(
        "MATCH (n {organization: $org}) WHERE NOT n:Event AND NOT n:AccessPair "
        "RETURN labels(n)[0] AS label, count(*) AS n", org=org)}
    assert labels == {"User": 1, "Admin": 1, "Group": 1, "Application": 1, "System": 1, "Organization": 1,
                      "IPAddress": 3, "Identity": 1}
    signins = db.read(  # every sign-in of the story belongs to slucero, by id or by the name slucero held then
        """MATCH (e:Event {organization: $org})-[a:AUTHENTICATED_AS]->(u:User)
           RETURN e.event_type AS t, a.by AS by, u.id AS user ORDER BY t""", org=org)
    assert [(r["t"], r["by"]) for r in signins] == [
        ("ldap_bind", "username"), ("login_attempt", "username"), ("radius_auth_attempt", "username"),
        ("sso_auth", "id"), ("user_login_attempt", "id")]
    assert {r["user"] for r in signins} == {SLUCERO}
    user = db.read("MATCH (u:User {organization: $org, id: $id}) RETURN u.username AS username", org=org, id=SLUCERO)
    assert user == [{"username": "slucero"}]
    group = db.read("MATCH (g:Group {organization: $org, id: $id}) RETURN g.name AS name, g.kind AS kind",
                    org=org, id=ENGINEERING)
    assert group == [{"name": "Engineering", "kind": "user"}]

    member = db.read(
        """MATCH (:User {organization: $org, id: $u})-[r:MEMBER_OF]->(:Group {organization: $org, id: $g})
           RETURN r.since AS since, r.until AS until, r.granted_by_event AS granted, r.revoked_by_event AS revoked""",
        org=org, u=SLUCERO, g=ENGINEERING)
    assert member == [{"since": ms("2020-06-05T16:01:12.004Z"), "until": ms("2020-06-20T11:00:00Z"),
                       "granted": "5eda6c104fd13527dcd9cd20", "revoked": "5ee0000a4fd13527dcd9cf00"}]
    grants = db.read(
        """MATCH (:Group {organization: $org, id: $g})-[r:HAS_ACCESS_TO]->(x)
           RETURN labels(x)[0] AS label, x.name AS name, r.until AS until ORDER BY name""", org=org, g=ENGINEERING)
    assert grants == [{"label": "Application", "name": "GitHub", "until": None},
                      {"label": "System", "name": "build-01", "until": None}]

    actors = db.read(
        """MATCH (e:Event {organization: $org, id: '5eda6c104fd13527dcd9cd20'})-[:INITIATED_BY]->(a:Admin)
           RETURN a.email AS email""", org=org)
    assert actors == [{"email": "admin@example.org"}]
    accessed = db.read(
        """MATCH (e:Event {organization: $org})-[:ACCESSED]->(x) RETURN e.event_type AS t, labels(x)[0] AS label
           ORDER BY t""", org=org)
    assert accessed == [{"t": "login_attempt", "label": "System"}, {"t": "sso_auth", "label": "Application"}]


def test_reingest_changes_nothing(db, org):
    ingest(db, sample_events(org))
    before = snapshot(db, org)
    again = ingest(db, sample_events(org), batch_size=5)
    assert (again.accepted, again.duplicates) == (0, 12)
    assert snapshot(db, org) == before


def test_duplicates_inside_one_batch_count_once(db, org):
    events = sample_events(org)
    summary = ingest(db, events + events[:3])
    assert (summary.accepted, summary.duplicates) == (12, 3)
    assert db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=org) == [{"n": 12}]


def _story(org: str) -> list[dict]:
    """The sample plus a re-grant and a second removal, so a pair has several intervals, and the identity story
    (a rename, a reused username, sign-ins by name in other letter case), so names have several holders."""
    events = sample_events(org)
    extra = json.loads(json.dumps(events[2]))  # user -> Engineering add
    extra.update(id="a1" * 12, timestamp="2020-07-01T00:00:00Z")
    extra2 = json.loads(json.dumps(events[10]))  # remove
    extra2.update(id="a2" * 12, timestamp="2020-08-01T00:00:00.5Z")
    extra3 = json.loads(json.dumps(events[2]))  # a duplicate add while open: no new interval
    extra3.update(id="a3" * 12, timestamp="2020-07-15T00:00:00Z")
    return events + [extra, extra2, extra3] + identity_story(org)


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 16))
def test_any_arrival_order_gives_the_same_graph(db, seed, batch):
    reference_org = new_org()
    ingest(db, _story(reference_org))
    org = new_org()
    events = _story(org)
    random.Random(seed).shuffle(events)
    ingest(db, events, batch_size=batch)
    assert snapshot(db, org) == snapshot(db, reference_org)
    intervals = db.read(
        "MATCH (:User {organization: $org, id: $u})-[r:MEMBER_OF]->() RETURN r.since AS s, r.until AS u ORDER BY s",
        org=org, u=SLUCERO)
    assert intervals == [
        {"s": ms("2020-06-05T16:01:12.004Z"), "u": ms("2020-06-20T11:00:00Z")},
        {"s": ms("2020-07-01T00:00:00Z"), "u": ms("2020-08-01T00:00:00.5Z")},
    ]


def test_bad_records_are_rejected_with_their_place_and_good_ones_kept(db, org):
    good = sample_events(org)
    bad = [
        "not an object",
        {"id": "x1", "organization": org, "event_type": "user_create", "service": "directory"},  # no timestamp
        {"id": "x2", "organization": org, "event_type": "user_create", "service": "nope",
         "timestamp": "2020-01-01T00:00:00Z"},
        {"id": "x3", "organization": org, "event_type": "user_create", "service": "directory",
         "timestamp": "2020-13-45T00:00:00Z"},
        {"id": "x4", "organization": org, "event_type": "sso_auth", "service": "sso",
         "timestamp": "2020-01-01T00:00:00Z", "success": "maybe"},
    ]
    mixed = good[:6] + bad + good[6:]
    summary = ingest(db, mixed)
    assert summary.accepted == 12
    reasons = {r.where: r.reason for r in summary.rejected}
    assert set(reasons) == {"index 6", "index 7", "index 8", "index 9", "index 10"}
    assert "timestamp" in reasons["index 7"] and "service" in reasons["index 8"]
    assert "timestamp" in reasons["index 9"] and "success" in reasons["index 10"]
    assert db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=org) == [{"n": 12}]


def test_events_come_back_losslessly(db, org):
    events = sample_events(org)
    ingest(db, events)
    stored = {r["id"]: loads(r["raw"]) for r in db.read(
        "MATCH (e:Event {organization: $org}) RETURN e.id AS id, e.raw AS raw", org=org)}
    assert stored == {ev["id"]: ev for ev in events}  # no geoip db here: nothing added, nothing lost
    weird = dict(events[0], id="w1", extra={"nested": [1, {"deep": None}]}, timestamp="2020-06-05T15:54:29-05:00")
    ingest(db, [weird])
    raw = db.read("MATCH (e:Event {organization: $org, id: 'w1'}) RETURN e.raw AS raw, e.ts AS ts", org=org)[0]
    assert loads(raw["raw"]) == weird
    assert raw["ts"] == ms("2020-06-05T20:54:29Z")


def test_timestamps_with_any_precision(db, org):
    events = sample_events(org)
    ingest(db, events)
    got = {r["id"]: r["ts"] for r in db.read("MATCH (e:Event {organization: $org}) RETURN e.id AS id, e.ts AS ts",
                                             org=org)}
    assert got["5edf96a03cd5d34ff313b7aa"] == ms("2020-06-09T14:01:10.123Z")  # 9 digits
    assert got["5eda6c304fd13527dcd9cd40"] == ms("2020-06-05T16:02:30.500Z")  # 1 digit
    assert got["5edfa1003cd5d34ff313c001"] == ms("2020-06-09T15:12:00Z")  # none


def test_organization_is_enforced_when_given(db, org):
    other = new_org()
    summary = ingest(db, sample_events(other)[:2] + sample_events(org)[:2], organization=org)
    assert summary.accepted == 2 and len(summary.rejected) == 2
    assert all("organization" in r.reason for r in summary.rejected)
    assert db.read("MATCH (e:Event {organization: $o}) RETURN count(e) AS n", o=other) == [{"n": 0}]


def test_a_json_array_file_is_read_whole(db, org):
    import io

    from app.ingest import Pipeline
    from app.ingest.records import read_records

    events = sample_events(org)
    summary = Pipeline(db).run(read_records(io.BytesIO(b"  \n" + json.dumps(events).encode())))
    assert (summary.accepted, summary.rejected) == (12, [])
