"""The vendor-compatible REST API through HTTP against the real Neo4j: the contract's examples, search_term
semantics (against tests/search_terms.py's reference), paging completeness, aggregates, projection, every
documented error, auth, tenancy and the ingest endpoint."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

import app.rest.endpoints as rest
from tests.conftest import ingest, make_key, new_org, sample_events
from tests.search_terms import reference_match, search_terms

V1 = "/insights/directory/v1"
START = "2020-01-01T00:00:00Z"
USER_CREATE = "5eda6ab54fd13527dcd9ccfb"
RADIUS_SAMPLE = "5edfa1003cd5d34ff313c001"
B_ONLY = "b-only-event"


def radius(org: str, eid: str, ts: str, success: bool, username: str | None = None,
           initiator: str | None = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "id": eid, "event_type": "radius_auth", "service": "radius", "timestamp": ts, "success": success,
        "organization": org, "client_ip": "10.0.0.1", "auth_type": "pap", "geoip": {"country_code": "DE"},
        "initiated_by": {"type": "user", "username": initiator or "someone"},
    }
    if username is not None:
        ev["username"] = username
    return ev


def radius_events(org: str) -> list[dict[str, Any]]:
    return [
        radius(org, "r1", "2020-01-02T10:00:00Z", False, initiator="paul"),  # example 2: initiated_by
        radius(org, "r2", "2020-01-02T11:00:00Z", False, username="Paul"),  # example 2: username, other case
        radius(org, "r3", "2020-01-02T12:00:00Z", True, username="paul", initiator="paul"),  # a success
        radius(org, "r4", "2020-01-02T13:00:00Z", False, username="bob", initiator="bob"),
        radius(org, "r5", "2020-01-01T13:59:59Z", False, username="paul"),  # before example 2's start_time
        radius(org, "r7", "2020-01-01T14:00:00Z", False, username="paul"),  # start_time is inclusive
    ]


class World:
    """Organization A (sample + radius events) and B (the same sample ids, plus one of its own), with keys."""

    def __init__(self, db: Any, client: TestClient) -> None:
        self.client = client
        self.a, self.b = new_org(), new_org()
        self.events_a = sample_events(self.a) + radius_events(self.a)
        assert ingest(db, self.events_a).accepted == len(self.events_a)
        b_only = {**sample_events(self.b)[0], "id": B_ONLY}
        assert ingest(db, sample_events(self.b) + [b_only]).accepted == 13
        self.key_a, self.key_b = make_key(db, self.a), make_key(db, self.b)
        self.ingest_key = make_key(db, self.a, scope="ingest")
        self.stored_a = self.post("/events", body(limit=10_000)).json()  # as stored: with any enrichment

    def post(self, path: str, payload: Any, key: str | None = None, status: int = 200, **headers: str) -> Any:
        r = self.client.post(V1 + path, json=payload, headers={"x-api-key": key or self.key_a, **headers})
        assert r.status_code == status, r.text
        assert r.headers["x-request-id"]
        return r


@pytest.fixture(scope="module")
def world(app, db) -> Iterator[World]:
    with TestClient(app) as client:
        yield World(db, client)


def body(**extra: Any) -> dict[str, Any]:
    return {"service": ["all"], "start_time": START, **extra}


def ids(response: Any) -> list[str]:
    return [e["id"] for e in response.json()]


# --- the contract's examples ---------------------------------------------------------------------------------


def test_contract_example_1(world: World) -> None:
    r = world.post("/events", {"service": ["all"], "start_time": "2020-05-14T00:00:00Z",
                               "search_term": {"and": {"event_type": ["user_create"]}}})
    assert ids(r) == [USER_CREATE]
    original = next(e for e in world.events_a if e["id"] == USER_CREATE)
    returned = r.json()[0]
    assert {k: returned[k] for k in original} == original  # the original shape, lossless
    assert r.headers["x-result-count"] == "1" and r.headers["x-limit"] == "1000" and r.headers["x-sort"] == "ASC"
    assert json.loads(r.headers["x-search_after"]) == [1591372469568, USER_CREATE]
    assert r.headers["content-type"] == "application/json"


def test_contract_example_2(world: World) -> None:
    r = world.post("/events", {"service": ["radius"], "start_time": "2020-01-01T14:00:00Z", "search_term": {
        "and": [{"success": "false"}, {"or": [{"initiated_by.username": "paul"}, {"username": "paul"}]}]}})
    assert ids(r) == ["r7", "r1", "r2"]


def test_contract_example_3(world: World) -> None:
    example = {"service": ["radius"], "start_time": "2020-01-01T14:00:00Z", "limit": 2000, "sort": "DESC",
               "fields": ["timestamp", "username", "client_ip", "success"],
               "search_after": [1576181718000, "DZrPyW8BNsa9iKWoOm7h"]}
    r = world.post("/events", example)
    assert r.json() == []  # nothing before 2019-12-12 that is also after start_time
    assert (r.headers["x-result-count"], r.headers["x-limit"], r.headers["x-sort"]) == ("0", "2000", "DESC")
    assert json.loads(r.headers["x-search_after"]) == [1576181718000, "DZrPyW8BNsa9iKWoOm7h"]  # echoed
    del example["search_after"]
    page = world.post("/events", example).json()
    assert page[0] == {"timestamp": "2020-06-09T15:12:00Z", "username": "slucero", "client_ip": "10.20.0.14",
                       "success": False}  # the sample radius event, newest first
    assert all(e.keys() <= {"timestamp", "username", "client_ip", "success"} for e in page)
    assert [e["timestamp"] for e in page] == sorted((e["timestamp"] for e in page), reverse=True)
    assert len(page) == 6  # the sample event and r1..r4, r7 (r5 is before start_time)


# --- search_term semantics against the reference evaluator -------------------------------------------------------


def as_list_form(conditions: Any) -> Any:
    """The same term with every map written as a list of single-key objects."""
    pairs = conditions.items() if isinstance(conditions, dict) else [p for c in conditions for p in c.items()]
    return [{k: as_list_form(v) if k.lower() in ("and", "or", "not") else v} for k, v in pairs]


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=search_terms())
def test_search_terms_agree_with_reference(world: World, term: dict[str, Any]) -> None:
    expected = sorted(e["id"] for e in world.stored_a if reference_match(term, e))
    ((op, conditions),) = term.items()
    for form in (term, {op: as_list_form(conditions)}):
        got = world.post("/events", body(search_term=form, limit=10_000))
        assert sorted(ids(got)) == expected, form
    assert world.post("/events/count", body(search_term=term)).json() == {"count": len(expected)}


def test_list_and_map_forms_agree(world: World) -> None:
    as_map = world.post("/events", body(search_term={"AND": {"Event_Type": "ASSOCIATION_CHANGE",
                                                             "association.op": "Add"}}))
    as_list = world.post("/events", body(search_term={"and": [{"event_type": "association_change"},
                                                              {"association.op": "add"}]}))
    assert ids(as_map) == ids(as_list) and len(ids(as_list)) == 3


def test_q_and_exact_match(world: World) -> None:
    assert USER_CREATE in ids(world.post("/events", body(q="SLUCERO")))
    assert set(ids(world.post("/events", body(exact_match="Engineering")))) >= {"5eda6c004fd13527dcd9cd11"}
    world.post("/events", body(q="x", exact_match="y"), status=400)


# --- paging ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paging(app, db) -> Iterator[tuple[TestClient, str, list[tuple[int, str]]]]:
    """~60 events of one organization, four to each of 15 timestamps, ids in no particular order."""
    org, rng = new_org(), random.Random(7)
    events = []
    for t in range(15):
        ts = f"2021-03-04T05:06:{t:02d}.5Z"
        for _ in range(4):
            events.append({"id": uuid.UUID(int=rng.getrandbits(128)).hex, "event_type": "user_update",
                           "service": "directory", "timestamp": ts, "organization": org})
    rng.shuffle(events)
    assert ingest(db, events).accepted == 60
    keys = sorted((int(datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")).timestamp() * 1000), e["id"])
                  for e in events)
    with TestClient(app) as client:
        client.headers["x-api-key"] = make_key(db, org)
        yield client, org, keys


def page_all(client: TestClient, query: dict[str, Any]) -> tuple[list[str], int]:
    """The paging loop every vendor client runs; returns (ids, requests)."""
    seen: list[str] = []
    requests = 0
    while True:
        r = client.post(f"{V1}/events", json=query)
        requests += 1
        assert r.status_code == 200, r.text
        page = r.json()
        assert int(r.headers["x-result-count"]) == len(page)
        seen += [e["id"] for e in page]
        if len(page) < int(r.headers["x-limit"]):
            return seen, requests
        query = {**query, "search_after": json.loads(r.headers["x-search_after"])}


@pytest.mark.parametrize("limit", [1, 7, 10_000])
@pytest.mark.parametrize("sort", ["ASC", "desc"])
def test_paging_returns_every_event_once_in_order(paging: Any, limit: int, sort: str) -> None:
    client, _, keys = paging
    expected = [eid for _, eid in (keys if sort == "ASC" else reversed(keys))]
    got, requests = page_all(client, body(limit=limit, sort=sort))
    assert got == expected
    assert requests == len(keys) // limit + 1
    count = client.post(f"{V1}/events/count", json=body(limit=limit)).json()["count"]
    assert count == len(got) == 60


def test_skip_applies_to_the_first_page_only(paging: Any) -> None:
    client, _, keys = paging
    got, _ = page_all(client, body(limit=7, skip=5))
    assert got == [eid for _, eid in keys][5:]
    got, _ = page_all(client, body(limit=7, skip=5, sort="DESC"))
    assert got == [eid for _, eid in reversed(keys)][5:]


def test_empty_page_headers(paging: Any) -> None:
    client, _, keys = paging
    r = client.post(f"{V1}/events", json=body(start_time="2030-01-01T00:00:00Z"))
    assert r.json() == [] and r.headers["x-result-count"] == "0" and json.loads(r.headers["x-search_after"]) == []
    r = client.post(f"{V1}/events", json=body(search_after=list(keys[-1])))
    assert r.json() == [] and json.loads(r.headers["x-search_after"]) == list(keys[-1])


def test_large_pages_stream_in_chunks(paging: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client, _, keys = paging
    monkeypatch.setattr(rest, "CHUNK", 8)  # 60 events: the streamed path, with a partial last chunk
    r = client.post(f"{V1}/events", json=body(limit=10_000))
    assert [e["id"] for e in r.json()] == [eid for _, eid in keys]
    assert "content-length" not in r.headers
    r = client.post(f"{V1}/events", json=body(limit=10_000, fields=["id", "timestamp"], sort="DESC"))
    assert [e["id"] for e in r.json()] == [eid for _, eid in reversed(keys)]
    assert all(e.keys() == {"id", "timestamp"} for e in r.json())


@pytest.mark.parametrize(("limit", "used"), [(0, 1000), (-5, 1000), ("abc", 1000), (None, 1000), (20_000, 10_000),
                                             (3, 3), (2.0, 2)])
def test_limit_falls_back(paging: Any, limit: Any, used: int) -> None:
    client, _, _ = paging
    r = client.post(f"{V1}/events", json=body(limit=limit, sort="sideways"))
    assert r.headers["x-limit"] == str(used) and r.headers["x-sort"] == "ASC"
    assert len(r.json()) == min(used, 60)


# --- aggregates and projection --------------------------------------------------------------------------------


def test_distinct_buckets_sum_to_count(world: World) -> None:
    count = world.post("/events/count", body()).json()["count"]
    d = world.post("/events/distinct", body(field="event_type")).json()
    assert d["doc_count_error_upper_bound"] == 0 and d["sum_other_doc_count"] == 0
    assert sum(b["doc_count"] for b in d["buckets"]) == count == len(world.events_a)
    assert {"key": "radius_auth", "doc_count": 6} in d["buckets"]
    top = world.post("/events/distinct", body(field="event_type", limit=2)).json()
    assert top["buckets"] == d["buckets"][:2]
    assert top["sum_other_doc_count"] == count - sum(b["doc_count"] for b in top["buckets"])
    nested = world.post("/events/distinct", body(field="initiated_by.username",
                                                 search_term={"and": {"service": "radius"}})).json()
    assert {"key": "paul", "doc_count": 2} in nested["buckets"]  # r1, r3


def test_interval_buckets(world: World) -> None:
    count = world.post("/events/count", body()).json()["count"]
    d = world.post("/events/interval", body(interval_unit="d", timezone="-0500")).json()["buckets"]
    assert sum(b["doc_count"] for b in d) == count
    assert [b["key"] for b in d] == list(range(d[0]["key"], d[-1]["key"] + 1, 86_400_000))  # empties included
    first = datetime.fromisoformat(d[0]["key_as_string"])
    assert d[0]["key_as_string"].endswith("-05:00") and (first.hour, first.minute) == (0, 0)  # local midnight
    assert first.timestamp() * 1000 == d[0]["key"]
    weeks = world.post("/events/interval", body(interval_unit="w", interval_value="2")).json()["buckets"]
    assert sum(b["doc_count"] for b in weeks) == count
    assert all(datetime.fromisoformat(b["key_as_string"]).weekday() == 0 for b in weeks)  # Mondays
    assert weeks[0]["key_as_string"].endswith("Z")
    hours = world.post("/events/interval", body(interval_unit="h", interval_value=3, timezone="+05:30",
                                                search_term={"and": {"service": "radius"}})).json()["buckets"]
    assert sum(b["doc_count"] for b in hours) == 7  # r1..r5, r7 and the sample one
    assert hours[0]["key_as_string"].endswith("+05:30")
    too_many = world.post("/events/interval", body(interval_unit="s"), status=400).json()["message"]
    assert "buckets" in too_many and "interval" in too_many
    empty = world.post("/events/interval", body(interval_unit="m", start_time="2030-01-01T00:00:00Z"))
    assert empty.json() == {"buckets": []}


def test_rfc3339_out_of_range_years() -> None:
    utc = timezone.utc
    assert rest.rfc3339(0, utc) == "1970-01-01T00:00:00.000Z"
    assert rest.rfc3339(-62135596800000 - 86_400_000, utc) == "0000-12-31T00:00:00.000Z"
    assert rest.rfc3339(253402300800000, utc) == "10000-01-01T00:00:00.000Z"


def test_fields_projection(world: World) -> None:
    r = world.post("/events", body(fields=["initiated_by.username", "EVENT_TYPE", "no.such.field"],
                                   search_term={"and": {"id": "r1"}}))
    assert r.json() == [{"initiated_by": {"username": "paul"}, "event_type": "radius_auth"}]
    whole = world.post("/events", body(fields=["geoip"], search_term={"and": {"id": "r1"}})).json()
    assert whole == [{"geoip": next(e for e in world.stored_a if e["id"] == "r1")["geoip"]}]


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "payload", "names"), [
    ("/events", {"service": ["all"]}, "start_time"),
    ("/events", body(start_time="yesterday"), "start_time"),
    ("/events", body(end_time="2019-12-31T00:00:00Z"), "Start Time not after End Time"),
    ("/events", body(end_time=START), "Start Time not after End Time"),
    ("/events", {"service": ["bogus"], "start_time": START}, "service"),
    ("/events", {"start_time": START}, "service"),
    ("/events", body(fields=[]), "fields"),
    ("/events", body(fields=["nope"]), "fields"),
    ("/events", body(search_term={"and": [{"foo": 1}]}), "search_term.and[0]: unknown field 'foo'"),
    ("/events", body(search_term={"xor": []}), "search_term"),
    ("/events", body(search_after=[1]), "search_after"),
    ("/events", body(skip=-1), "skip"),
    ("/events", [body()], "body"),
    ("/events/count", body(q=5), "q"),
    ("/events/distinct", body(), "field"),
    ("/events/distinct", body(field="nope"), "field"),
    ("/events/interval", body(), "interval_unit"),
    ("/events/interval", body(interval_unit="M"), "interval_unit"),
    ("/events/interval", body(interval_unit="d", interval_value="0"), "interval_value"),
    ("/events/interval", body(interval_unit="d", timezone="America/Denver"), "timezone"),
])
def test_documented_400s(world: World, path: str, payload: Any, names: str) -> None:
    message = world.post(path, payload, status=400).json()["message"]
    assert names in message


@pytest.mark.parametrize("raw", [b"{bad", b"", b"   ", b"[1,", b'"\\ud800"', b"\xff\xfe"])
def test_malformed_json_is_400(world: World, raw: bytes) -> None:
    r = world.client.post(f"{V1}/events", content=raw, headers={"x-api-key": world.key_a})
    assert r.status_code == 400 and r.json()["message"].startswith("body")


def test_request_id_is_honoured_or_generated(world: World) -> None:
    r = world.post("/events/count", body(), **{"x-request-id": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    r = world.post("/events/count", body(), **{"x-request-id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert world.post("/events", {}, status=400).headers["x-request-id"]


def test_wrong_method_and_unknown_path_answer_json(world: World) -> None:
    r = world.client.get(f"{V1}/events", headers={"x-api-key": world.key_a})
    assert r.status_code == 405 and r.headers["allow"] == "POST" and "message" in r.json()
    r = world.client.post(f"{V1}/nothing", json={}, headers={"x-api-key": world.key_a})
    assert r.status_code == 404 and "message" in r.json()


def test_database_unavailable_is_503(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from neo4j.exceptions import ServiceUnavailable

    from graph.db import DatabaseUnavailable

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("gone")

    monkeypatch.setattr(rest, "count_events", down)
    r = world.post("/events/count", body(), status=503)
    assert r.json()["message"] and r.headers["retry-after"]
    monkeypatch.setattr(rest, "find_event_keys", lambda *a, **k: (_ for _ in ()).throw(DatabaseUnavailable("x")))
    world.post("/events", body(), status=503)


def test_unexpected_errors_are_500_with_a_message(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest, "count_events", lambda *a, **k: 1 / 0)
    r = world.post("/events/count", body(), status=500)
    assert "X-Request-Id" in r.json()["message"] and r.headers["x-request-id"]


# --- auth and tenancy -----------------------------------------------------------------------------------------


def test_auth(world: World) -> None:
    c = world.client
    assert c.post(f"{V1}/events", json=body()).status_code == 401
    r = c.post(f"{V1}/events", json=body(), headers={"x-api-key": "nope"})
    assert r.status_code == 401 and "message" in r.json() and r.headers["x-request-id"]
    r = c.post(f"{V1}/events", json=body(), headers={"x-api-key": world.key_b, "x-org-id": world.a})
    assert r.status_code == 403 and "message" in r.json()


def test_org_isolation(world: World) -> None:
    a = world.post("/events", body(limit=10_000)).json()
    assert {e["organization"] for e in a} == {world.a} and B_ONLY not in {e["id"] for e in a}
    b = world.post("/events", body(limit=10_000), key=world.key_b).json()
    assert {e["organization"] for e in b} == {world.b} and B_ONLY in {e["id"] for e in b} and len(b) == 13
    assert world.post("/events/count", body(), key=world.key_b).json() == {"count": 13}
    assert world.post("/events", body(q="b-only")).json() == []
    distinct = world.post("/events/distinct", body(field="id")).json()["buckets"]
    assert B_ONLY not in {d["key"] for d in distinct}


# --- ingest ---------------------------------------------------------------------------------------------------


def test_ingest_array_then_retry_is_idempotent(world: World, db: Any) -> None:
    org = new_org()
    key = make_key(db, org, scope="ingest")
    events = [{**e, "organization": org} for e in radius_events(org)]
    events.insert(2, {"id": "x", "organization": org})  # no event_type: rejected, neighbours unharmed
    events.append({**events[0], "id": "foreign", "organization": world.b})  # another org: rejected, not re-homed
    first = world.post("/ingest", events, key=key).json()
    assert (first["accepted"], first["duplicates"]) == (6, 0)
    assert [r["where"] for r in first["rejected"]] == ["index 2", "index 7"]
    assert "organization" in first["rejected"][1]["reason"]
    assert [(r["where"], r["id"], r["status"]) for r in first["results"]] == [
        ("index 0", "r1", "accepted"), ("index 1", "r2", "accepted"), ("index 2", "x", "rejected"),
        ("index 3", "r3", "accepted"), ("index 4", "r4", "accepted"), ("index 5", "r5", "accepted"),
        ("index 6", "r7", "accepted"), ("index 7", "foreign", "rejected")]
    again = world.post("/ingest", events, key=key).json()
    assert (again["accepted"], again["duplicates"], len(again["rejected"])) == (0, 6, 2)
    stored = world.post("/events", body(), key=key).json()
    assert sorted(e["id"] for e in stored) == ["r1", "r2", "r3", "r4", "r5", "r7"]
    assert world.post("/events", body(search_term={"and": {"id": "foreign"}}), key=world.key_b).json() == []


def test_ingest_ndjson(world: World, db: Any) -> None:
    org = new_org()
    key = make_key(db, org, scope="ingest")
    lines = [json.dumps(e) for e in radius_events(org)[:3]]
    text = "\n".join([lines[0], "", "{not json", lines[1], lines[2]]) + "\n"
    r = world.client.post(f"{V1}/ingest", content=text.encode(),
                          headers={"x-api-key": key, "content-type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 3 and out["rejected"][0]["where"] == "line 3"
    assert [x["where"] for x in out["results"]] == ["line 1", "line 3", "line 4", "line 5"]
    one = json.dumps({**radius_events(org)[3]}, indent=2)  # a single pretty-printed object as application/json
    r = world.client.post(f"{V1}/ingest", content=one.encode(),
                          headers={"x-api-key": key, "content-type": "application/json"})
    assert r.json()["results"] == [{"where": "index 0", "id": "r4", "status": "accepted"}]


def test_ingest_needs_ingest_scope_and_size_limit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    r = world.post("/ingest", radius_events(world.a), key=world.key_a, status=403)
    assert "ingest" in r.json()["message"]
    settings = world.client.app.state.services.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "max_body_bytes", 300)
    big = radius_events(world.a)
    r = world.post("/ingest", big, key=world.ingest_key, status=413)
    assert "300 bytes" in r.json()["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield json.dumps(big).encode()

    r = world.client.post(f"{V1}/ingest", content=chunks(), headers={"x-api-key": world.ingest_key})
    assert r.status_code == 413
    r = world.client.post(f"{V1}/events", content=json.dumps(body(q="x" * 400)).encode(),
                          headers={"x-api-key": world.key_a})
    assert r.status_code == 413  # query bodies obey the same ceiling


# --- documents ----------------------------------------------------------------------------------------------------


def test_openapi_and_docs_are_public(world: World) -> None:
    r = world.client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    try:
        from openapi_spec_validator import validate
    except ImportError:  # not a declared test dependency; schemathesis (test_rest_fuzz.py) loads it too
        pass
    else:
        validate(doc)
    assert f"{V1}/events" in doc["paths"] and doc["components"]["securitySchemes"]["ApiKey"]["name"] == "x-api-key"
    docs = world.client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_x_search_after_is_ascii_for_any_id(world: World) -> None:
    r = world.post("/events", body(search_after=[1, "é\n☃"], sort="DESC"))
    assert r.json() == [] and r.headers["x-search_after"].isascii()
    assert json.loads(r.headers["x-search_after"]) == [1, "é\n☃"]


def test_page_events_are_loaded_by_element_id_and_checked(db: Any, org: str) -> None:
    """A REST page's events are fetched by the element ids its keys query returned; a key whose node is no longer
    that event of that organization (deleted, id reused) is left out, never served as another event."""
    from graph.search import find_event_keys, load_raw
    from app.model.filters import MATCH_ALL
    from tests.conftest import ingest, new_org, sample_events

    other = new_org()
    ingest(db, sample_events(org))
    ingest(db, sample_events(other))
    keys = find_event_keys(db, org, MATCH_ALL, limit=1000)
    stored = {r["id"]: r["raw"] for r in db.read("MATCH (e:Event {organization: $o}) RETURN e.id AS id, e.raw AS raw",
                                                  o=org)}
    assert keys and load_raw(db, org, keys) == stored
    theirs = find_event_keys(db, other, MATCH_ALL, limit=1000)
    user = db.read("MATCH (u:User {organization: $o}) RETURN elementId(u) AS n LIMIT 1", o=org)[0]["n"]
    wrong = [(keys[0][0], keys[0][1], theirs[0][2]),  # another organization's event under this one's id
             (keys[1][0], keys[1][1], user)]  # not an event at all
    assert load_raw(db, org, wrong + keys[2:]) == {k: v for k, v in stored.items() if k not in {keys[0][1], keys[1][1]}}
