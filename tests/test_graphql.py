"""The GraphQL API through HTTP against the real Neo4j: filters, paging, aggregates, entities, auth, tenancy."""

from __future__ import annotations

from typing import Any

from tests.conftest import BUILD01, GITHUB, SLUCERO, ingest, make_key, new_org, sample_events


def gql(client, key: str | None, query: str, variables: dict | None = None, org: str | None = None,
        status: int = 200) -> dict[str, Any]:
    headers = {}
    if key:
        headers["x-api-key"] = key
    if org:
        headers["x-org-id"] = org
    r = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def data(client, key: str, query: str, variables: dict | None = None) -> dict[str, Any]:
    body = gql(client, key, query, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_events_filter_and_keyset_paging(db, org, client, key):
    ingest(db, sample_events(org))
    q = """query($f: EventFilter, $after: String) { events(filter: $f, first: 5, after: $after, order: ASC) {
             totalCount edges { cursor node { id eventType timestamp } } pageInfo { hasNextPage endCursor } } }"""
    seen, after = [], None
    while True:
        page = data(client, key, q, {"after": after})["events"]
        assert page["totalCount"] == 12
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 12 and len({e["id"] for e in seen}) == 12
    assert [e["timestamp"] for e in seen] == sorted(e["timestamp"] for e in seen)

    only = data(client, key, q, {"f": {"eventTypes": ["association_change"], "initiator": {"email": "ADMIN@example.org"}}})
    assert {e["node"]["eventType"] for e in only["events"]["edges"]} == {"association_change"}
    assert only["events"]["totalCount"] == 4

    nested = data(client, key, q, {"f": {"or": [{"services": ["sso"]}, {"services": ["systems"]}],
                                         "not": [{"success": False}]}})
    types = sorted(e["node"]["eventType"] for e in nested["events"]["edges"])
    assert types == ["login_attempt", "sso_auth"]


def test_aggregates(db, org, client, key):
    ingest(db, sample_events(org))
    d = data(client, key, """{ eventCount
        eventDistinct(field: "event_type", first: 2) { buckets { value count } otherCount }
        eventHistogram(interval: "1d") { start count } }""")
    assert d["eventCount"] == 12
    dist = d["eventDistinct"]
    assert dist["buckets"][0] == {"value": "association_change", "count": 4}
    assert sum(b["count"] for b in dist["buckets"]) + dist["otherCount"] == 12
    assert sum(b["count"] for b in d["eventHistogram"]) == 12
    assert all(b["start"].endswith("T00:00:00+00:00") for b in d["eventHistogram"])


def test_entity_roots_and_links(db, org, client, key):
    ingest(db, sample_events(org))
    d = data(client, key, """{ user(username: "slucero") { id username globalId
                                 events(first: 100) { totalCount nodes { eventType initiatedBy { name entityType } } } }
                               admin(email: "admin@example.org") { id email } }""")
    user = d["user"]
    assert user["id"] == SLUCERO and user["username"] == "slucero"
    assert user["events"]["totalCount"] >= 5
    assert {"name": "admin@example.org", "entityType": "admin"} in [n["initiatedBy"] for n in user["events"]["nodes"]]
    node = data(client, key, "query($id: ID!) { node(id: $id) { ... on User { username } } }", {"id": user["globalId"]})
    assert node["node"] == {"username": "slucero"}


def test_auth_and_isolation(db, org, client, key):
    ingest(db, sample_events(org))
    other = new_org()
    events = sample_events(other)
    for ev in events:
        if ev.get("resource", {}).get("username") == "slucero":
            ev["resource"]["username"] = "someone-else"
    ingest(db, events)
    q = '{ eventCount user(id: "%s") { username } }' % SLUCERO
    assert gql(client, None, q, status=401)["message"]
    assert gql(client, "ig_nope", q, status=401)["message"]
    assert gql(client, key, q, org=other, status=403)["message"]
    mine = data(client, key, q)
    assert mine == {"eventCount": 12, "user": {"username": "slucero"}}
    theirs = data(client, make_key(db, other), q)
    assert theirs["user"]["username"] == "someone-else"

    both = make_key(db, org, other)
    assert gql(client, both, q, status=403)["message"].startswith("x-org-id")
    r = gql(client, both, q, org=other)
    assert r["data"]["user"]["username"] == "someone-else"


def test_bad_input_is_a_graphql_error_with_a_path(db, org, client, key):
    body = gql(client, key, '{ events(filter: {clientIp: ["nope"]}) { totalCount } }')
    assert body["errors"][0]["path"] == ["events"]
    assert "filter.clientIp" in body["errors"][0]["message"]
    body = gql(client, key, '{ events(first: 100000) { totalCount } }')
    assert "first" in body["errors"][0]["message"]
    body = gql(client, key, '{ events(filter: {fields: [{path: "nope.nope", values: ["x"]}]}) { totalCount } }')
    assert "nope.nope" in body["errors"][0]["message"]


def test_ingest_mutation_needs_ingest_scope(db, org, client, key):
    q = "mutation($e: [JSON!]!) { ingestEvents(events: $e) { accepted duplicates rejected results { index status reason } } }"
    events = sample_events(org)[:3] + [{"id": "x"}]
    body = gql(client, key, q, {"e": events})
    assert body["errors"][0]["message"].startswith("this API key has scope 'read'")
    ik = make_key(db, org, scope="ingest")
    res = data(client, ik, q, {"e": events})["ingestEvents"]
    assert (res["accepted"], res["duplicates"], res["rejected"]) == (3, 0, 1)
    assert res["results"][3]["status"] == "rejected" and "organization" in res["results"][3]["reason"]
    again = data(client, ik, q, {"e": events})["ingestEvents"]
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    foreign = sample_events(new_org())[:1]
    res = data(client, ik, q, {"e": foreign})["ingestEvents"]
    assert res["rejected"] == 1 and "organization" in res["results"][0]["reason"]


def _subscribe(ws, query: str, variables: dict | None = None, init: dict | None = None) -> None:
    ws.send_json({"type": "connection_init", "payload": init or {}})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})


def test_subscription_delivers_matching_events_from_any_ingest_path(db, org, client, key):
    import threading
    import time

    q = "subscription($f: EventFilter) { eventAdded(filter: $f) { id eventType } }"
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                  headers={"x-api-key": key}) as ws:
        _subscribe(ws, q, {"f": {"eventTypes": ["sso_auth", "login_attempt"]}})
        time.sleep(0.3)
        started = time.monotonic()
        threading.Thread(target=ingest, args=(db, sample_events(org))).start()
        got = set()
        for _ in range(2):
            msg = ws.receive_json()
            assert msg["type"] == "next", msg
            got.add(msg["payload"]["data"]["eventAdded"]["eventType"])
        assert got == {"sso_auth", "login_attempt"}
        assert time.monotonic() - started < 3  # within a second of being stored, plus the ingest itself


def _event(org: str, eid: str, index: int = 5) -> dict[str, Any]:
    """Sample event `index` (5: a user_login_attempt, 6: an sso_auth) under another id."""
    ev = sample_events(org)[index]
    ev["id"] = eid
    return ev


def _receive(ws, seconds: float = 10) -> dict[str, Any]:
    """The next message; a TimeoutError (not a hung test) when none comes."""
    import json

    import anyio

    async def receive() -> Any:
        with anyio.fail_after(seconds):
            return await ws._send_rx.receive()

    return json.loads(ws.portal.call(receive)["text"])


def _next_id(ws) -> str:
    msg = _receive(ws)
    assert msg["type"] == "next" and "errors" not in msg["payload"], msg
    return msg["payload"]["data"]["eventAdded"]["id"]


RESUMABLE = "subscription($f: EventFilter, $after: ID) { eventAdded(filter: $f, resumeAfter: $after) { id } }"


def test_a_resumed_subscription_misses_nothing_stored_while_it_was_away(db, org, client, key, monkeypatch):
    import time

    from app.gql import poller

    def connect():
        return client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": key})

    with connect() as ws:
        _subscribe(ws, RESUMABLE)
        time.sleep(0.3)
        ingest(db, [_event(org, f"seen-{i}") for i in range(3)])
        seen = [_next_id(ws) for _ in range(3)]
    assert sorted(seen) == ["seen-0", "seen-1", "seen-2"]
    ingest(db, [_event(org, f"away-{i}") for i in range(5)])  # stored while nobody listened

    real = poller.ingested_at

    def a_write_lands_as_the_replay_starts(*args: Any) -> Any:
        ingest(db, [_event(org, "racing")])  # after the subscription joined the live stream, before the replay reads
        time.sleep(0.6)  # the live poll (every 0.25 s) has queued it by now; the replay will read it too
        return real(*args)

    monkeypatch.setattr(poller, "ingested_at", a_write_lands_as_the_replay_starts)
    with connect() as ws:
        _subscribe(ws, RESUMABLE, {"after": seen[-1]})
        got: list[str] = []
        wanted = {f"away-{i}" for i in range(5)} | {"racing"}
        while not wanted <= set(got):
            got.append(_next_id(ws))
        ingest(db, [_event(org, "live")])
        while "live" not in got:
            got.append(_next_id(ws))
    assert seen[-1] not in got  # the event named is the client's already
    assert len(got) == len(set(got)), got  # replay and live stream overlap: still each event once
    assert set(got) <= wanted | {"live", *seen}  # at most the few stored just before the one named, again


def test_a_subscriber_that_falls_behind_is_ended_and_resumes_without_a_gap(db, org, client, key, monkeypatch):
    import time

    from app.gql import poller

    monkeypatch.setattr(poller, "QUEUE", 1)  # one batch of three overflows it
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": key}) as ws:
        _subscribe(ws, RESUMABLE)
        time.sleep(0.3)
        ingest(db, [_event(org, "before-burst")])
        assert _next_id(ws) == "before-burst"
        ingest(db, [_event(org, f"burst-{i}") for i in range(3)])
        msg = _receive(ws)  # was: one event, then nothing, then later events behind a silent gap
        assert msg["payload"]["errors"][0]["message"] == "the subscriber fell more than 1 events behind", msg
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": key}) as ws:
        _subscribe(ws, RESUMABLE, {"after": "before-burst"})
        assert {_next_id(ws) for _ in range(3)} == {f"burst-{i}" for i in range(3)}


def test_an_event_stamped_before_the_stream_began_but_committed_after_it_is_delivered(db, org, client, key,
                                                                                      monkeypatch):
    import time

    from app.gql import poller

    real = poller.db_clock
    # The poller begins as if 2 s after a writer stamped its events (`ingested` is the statement's clock, and its
    # transaction commits later): the event below is stamped before the stream's start yet stored after it.
    monkeypatch.setattr(poller, "db_clock", lambda db: real(db) + 2_000)
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": key}) as ws:
        _subscribe(ws, RESUMABLE)
        time.sleep(0.3)
        ingest(db, [_event(org, "late-commit")])
        assert _next_id(ws) == "late-commit"  # was: never delivered, to a fresh or a resumed stream


def test_a_subscriber_arriving_after_the_database_failed_gets_a_live_stream(db, org, monkeypatch):
    import asyncio

    import pytest

    from app.gql import poller
    from app.model.filters import MATCH_ALL

    def unavailable(*args: Any) -> Any:
        raise ConnectionError("Neo4j away")

    async def scenario() -> None:
        hub = poller.Hub(poll=0.05)
        slow = hub.subscribe(db, org, "k", MATCH_ALL)
        first = asyncio.create_task(slow.__anext__())
        await asyncio.sleep(0.3)
        ingest(db, [_event(org, "one")])
        assert (await asyncio.wait_for(first, 5)).id == "one"  # `slow` has not asked for more: it holds the poller
        real = poller.events_since
        monkeypatch.setattr(poller, "events_since", unavailable)
        await asyncio.sleep(0.3)  # the poll failed: its subscribers are ended
        monkeypatch.setattr(poller, "events_since", real)
        fresh = hub.subscribe(db, org, "k", MATCH_ALL)
        nxt = asyncio.create_task(fresh.__anext__())
        await asyncio.sleep(0.3)
        ingest(db, [_event(org, "two")])
        assert (await asyncio.wait_for(nxt, 5)).id == "two"  # was: it joined the dead poller and waited forever
        with pytest.raises(poller.SubscriptionEnded, match="live events stopped: ConnectionError"):
            await slow.__anext__()
        await fresh.aclose()

    asyncio.run(scenario())


def test_a_live_poll_reads_its_window_not_the_whole_organization(db, org):
    """An idle subscription polls four times a second: what a poll touches must not grow with the organization
    (the planner split the cursor's OR into a union whose one half sought every event id of the organization)."""
    from app.ingest.demo import generate
    from app.model.filters import MATCH_ALL
    from graph.search import db_clock, events_since

    class Profiled:
        """The database, each read PROFILEd: the db hits of the last one."""

        hits = 0

        def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
            def total(plan: Any) -> int:
                return plan["dbHits"] + sum(total(c) for c in plan.get("children", []))

            with db.driver.session() as session:
                result = session.run("PROFILE " + query, params)
                rows = [dict(r) for r in result]
                self.hits = total(result.consume().profile)
            return rows

    ingest(db, list(generate(users=20, days=5, events=3000, seed=4, organization=org)))
    profiled = Profiled()
    assert events_since(profiled, org, MATCH_ALL, (db_clock(db) + 1, ""), 1000) == []  # type: ignore[arg-type]
    assert profiled.hits < 100, profiled.hits  # was 6,002: each of the 3,000 ids sought, then filtered
    since = db_clock(db)
    ingest(db, [_event(org, f"new-{i}") for i in range(5)])
    got = events_since(profiled, org, MATCH_ALL, (since, ""), 1000, exclude=["new-0"])  # type: ignore[arg-type]
    assert sorted(ev.id for _, ev in got) == [f"new-{i}" for i in range(1, 5)]
    assert profiled.hits < 200, profiled.hits


def test_a_resumed_subscription_replays_only_what_its_filter_matches(db, org, client, key):
    import time

    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": key}) as ws:
        ingest(db, [_event(org, "mark")])
        time.sleep(0.1)
        ingest(db, [_event(org, "login-1"), _event(org, "sso-1", 6), _event(org, "login-2"), _event(org, "sso-2", 6)])
        _subscribe(ws, RESUMABLE, {"f": {"eventTypes": ["sso_auth"]}, "after": "mark"})
        assert sorted([_next_id(ws), _next_id(ws)]) == ["sso-1", "sso-2"]
        ingest(db, [_event(org, "login-3"), _event(org, "sso-3", 6)])
        assert _next_id(ws) == "sso-3"


def test_resuming_after_an_event_the_organization_does_not_hold_is_an_error(db, org, client, key):
    other = new_org()
    ingest(db, [_event(other, "theirs")])
    for after in ("never-stored", "theirs"):
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                      headers={"x-api-key": key}) as ws:
            _subscribe(ws, RESUMABLE, {"after": after})
            msg = _receive(ws)
            assert msg["payload"]["errors"][0]["message"] == f"resumeAfter: no event {after!r} in this organization"


def test_subscription_key_in_connection_init_and_isolation(db, org, client, key):
    import time

    other = new_org()
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "subscription { eventAdded { id organization } }", init={"x-api-key": key})
        time.sleep(0.3)
        ingest(db, sample_events(other)[:3])  # another tenant's events must never arrive
        ingest(db, sample_events(org)[:1])
        msg = ws.receive_json()
        assert msg["payload"]["data"]["eventAdded"]["organization"] == org


def test_subscription_without_a_key_is_refused(client):
    from starlette.websockets import WebSocketDisconnect
    import pytest

    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            ws.send_json({"type": "connection_init", "payload": {"x-api-key": "ig_bad"}})
            ws.receive_json()


def test_abuse_is_refused_fast(db, org, client, key):
    import time

    deep = "{ events { edges { node { " + "initiatedBy { ... on User { events { edges { node { " * 12 + "id" \
           + " } } } } }" * 12 + " } } } }"
    aliases = "{ " + " ".join(f"a{i}: eventCount" for i in range(1000)) + " }"
    tokens = "{ eventCount(filter: {text: \"x\" " + " ".join("and: []" for _ in range(4000)) + "}) }"
    introspection = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    for query in (deep, aliases, tokens, introspection):
        started = time.monotonic()
        body = gql(client, key, query)
        assert body.get("errors"), query[:80]
        assert body.get("data") is None
        assert time.monotonic() - started < 2
    assert gql(client, key, "{ eventCount }")["data"]["eventCount"] == 0
    from graphql import get_introspection_query

    assert "errors" not in gql(client, key, get_introspection_query())  # GraphiQL's own query still works


ACCESS = """query($at: DateTime) { user(username: "slucero") { access(asOf: $at) {
  resource { id name type } paths { kind hops { source { name } target { name } relationship
    grantedBy { id initiator { email } clientIp } } } } } }"""


def test_access_as_of_an_instant_with_the_granting_path(db, org, client, key):
    ingest(db, sample_events(org))
    access = data(client, key, ACCESS, {"at": "2020-06-10T00:00:00Z"})["user"]["access"]
    by_id = {a["resource"]["id"]: a for a in access}
    assert {GITHUB, BUILD01} <= set(by_id)
    for rid in (GITHUB, BUILD01):
        path = by_id[rid]["paths"][0]
        assert path["kind"] == "group"
        assert [h["target"]["name"] for h in path["hops"]][0] == "Engineering"
        assert {h["grantedBy"]["initiator"]["email"] for h in path["hops"]} == {"admin@example.org"}
    later = data(client, key, ACCESS, {"at": "2020-06-21T00:00:00Z"})["user"]["access"]
    assert not {GITHUB, BUILD01} & {a["resource"]["id"] for a in later}

    diff = data(client, key, """{ user(id: "%s") { accessDiff(from: "2020-06-10T00:00:00Z", to: "2020-06-21T00:00:00Z")
        { gained { resource { id } } lost { resource { id name } events { id } } } } }""" % SLUCERO)
    lost = {c["resource"]["id"]: [e["id"] for e in c["events"]] for c in diff["user"]["accessDiff"]["lost"]}
    assert lost == {GITHUB: ["5ee0000a4fd13527dcd9cf00"], BUILD01: ["5ee0000a4fd13527dcd9cf00"]}
    assert diff["user"]["accessDiff"]["gained"] == []

    path = data(client, key, """query($to: ID!, $at: DateTime) { user(id: "%s") { accessPath(to: $to, asOf: $at) {
        hops { relationship grantedBy { initiator { email } } } } } }""" % SLUCERO, {"to": BUILD01, "at": "2020-06-10T00:00:00Z"})
    assert [h["relationship"] for h in path["user"]["accessPath"][0]["hops"]] == ["MEMBER_OF", "HAS_ACCESS_TO"]
    none = data(client, key, """query($to: ID!) { user(id: "%s") { accessPath(to: $to, asOf: "2020-06-21T00:00:00Z")
        { kind } } }""" % SLUCERO, {"to": BUILD01})
    assert none["user"]["accessPath"] == []


def test_lifecycle_in_order_and_neighbours(db, org, client, key):
    ingest(db, sample_events(org))
    d = data(client, key, """{ user(username: "slucero") { lifecycle { id timestamp kind eventType
        initiator { email } clientIp counterpart { name } changes { field to: to } } }
        group(name: "Engineering") { members(asOf: "2020-06-10T00:00:00Z") { member { name } direct } }
        system(id: "%s") { whoCanAccess(asOf: "2020-06-10T00:00:00Z") { user { name } } } }""" % BUILD01)
    story = d["user"]["lifecycle"]
    assert story[0]["kind"] == "created" and story[0]["initiator"]["email"] == "admin@example.org"
    assert [e["timestamp"] for e in story] == sorted(e["timestamp"] for e in story)
    kinds = [e["kind"] for e in story]
    assert kinds.index("association_added") < kinds.index("association_removed") < kinds.index("suspended")
    assert {"name": "Engineering"} in [e["counterpart"] for e in story]
    assert d["group"]["members"] == [{"member": {"name": "slucero"}, "direct": True}]
    assert d["system"]["whoCanAccess"] == [{"user": {"name": "slucero"}}]


def test_traversals_never_cross_organizations(db, org, client, key):
    ingest(db, sample_events(org))
    other = new_org()
    theirs = sample_events(other)
    theirs = [ev for ev in theirs if ev["id"] != "5ee0000a4fd13527dcd9cf00"]  # in B, the access is never revoked
    ingest(db, theirs)
    later = data(client, key, ACCESS, {"at": "2020-06-21T00:00:00Z"})["user"]["access"]
    assert later == []
    b = data(client, make_key(db, other), ACCESS, {"at": "2020-06-21T00:00:00Z"})["user"]["access"]
    assert {GITHUB, BUILD01} <= {a["resource"]["id"] for a in b}


def test_graphiql_opens_with_examples_that_run_on_demo_data(db, client):
    import json as _json

    from app.ingest.demo import generate
    from app.gql.examples import EXAMPLES

    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'id="ig-examples"' in page.text and "Lifecycle" in page.text  # bundled GraphiQL
    org = new_org()
    ingest(db, list(generate(users=30, days=20, events=3000, seed=1, organization=org)))
    key = make_key(db, org)
    for example in EXAMPLES[:3]:
        variables = _json.loads(example.get("variables") or "{}")
        d = data(client, key, example["query"], variables)
        assert d and all(v is not None for v in d.values()), example["query"][:60]


def test_neighbours_at_an_instant(db, org, client, key):
    ingest(db, sample_events(org))
    q = """query($at: DateTime) { group(name: "Engineering") { neighbours(asOf: $at) {
             relationship direction node { name } grantedByEvent } } }"""
    during = data(client, key, q, {"at": "2020-06-10T00:00:00Z"})["group"]["neighbours"]
    assert {(n["relationship"], n["direction"], n["node"]["name"]) for n in during} == {
        ("MEMBER_OF", "in", "slucero"), ("HAS_ACCESS_TO", "out", "GitHub"), ("HAS_ACCESS_TO", "out", "build-01")}
    after = data(client, key, q, {"at": "2020-06-21T00:00:00Z"})["group"]["neighbours"]
    assert {n["node"]["name"] for n in after} == {"GitHub", "build-01"}


def test_a_page_of_headline_fields_answers_as_one_that_reads_the_events_json(db, org, client, key, monkeypatch):
    events = sample_events(org)
    odd = dict(events[0], id="odd-spelling", event_type="SSO_Auth", service=" SSO ", client_ip="2001:DB8::1",
               success=True, mfa=False)
    ingest(db, events + [odd])
    headline = "id timestamp organization eventType service success mfa clientIp __typename"
    q = "query($f: EventFilter) { events(filter: $f, first: 50) { edges { node { %s } } nodes { id } } }"
    import graph.search as search
    reads = []
    real = search.find_events

    def spy(*args, **kwargs):
        reads.append(kwargs.get("headline"))
        return real(*args, **kwargs)

    monkeypatch.setattr("app.gql.event_types.find_events", spy)
    summary = data(client, key, q % headline)["events"]["edges"]
    with_json = data(client, key, q % (headline + " raw geo { countryCode }"))["events"]["edges"]
    in_fragment = data(client, key, "query { events(first: 50) { ...P } } fragment P on EventConnection { "
                                    "edges { node { ... on Event { id raw } } } }")["events"]["edges"]
    assert reads == [True, False, False]  # the first page read no event's JSON; a fragment asking `raw` is seen
    assert len(summary) == 13
    assert [{"node": {k: v for k, v in e["node"].items() if k not in ("raw", "geo")}} for e in with_json] == summary
    mine = next(e["node"] for e in summary if e["node"]["id"] == "odd-spelling")
    assert (mine["eventType"], mine["service"], mine["clientIp"], mine["success"], mine["mfa"]) == \
        ("sso_auth", "sso", "2001:db8::1", True, False)
    raw = next(e["node"]["raw"] for e in in_fragment if e["node"]["id"] == "odd-spelling")
    assert (raw["event_type"], raw["service"], raw["client_ip"]) == ("SSO_Auth", " SSO ", "2001:DB8::1")
