"""Tests for app.rest.query: REST bodies -> validated EventQuery, checked in Python with tests.oracle.evaluate."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from app.model.events import SERVICES
from app.model.fields import lookup
from app.model.filters import MATCH_ALL, And, Exact, Match, Not, Or, Text, TimeRange
from tests.oracle import evaluate
from graph.compile_filter import compile_filter
from app.rest.query import (
    BadRequest,
    EventQuery,
    parse_distinct,
    parse_event_query,
    parse_interval,
    parse_search_term,
    project,
)
from tests.search_terms import reference_match, search_terms

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "events" / "directory-insights-sample.jsonl"
if not SAMPLE.exists():  # a CI clone carries its own copy
    SAMPLE = Path(__file__).parent / "data" / "directory-insights-sample.jsonl"
SAMPLE_EVENTS: list[dict[str, Any]] = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
START = "2020-01-01T00:00:00Z"


def radius(eid: str, ts: str, success: bool, username: str | None = None, initiator: str | None = None,
           service: str = "radius") -> dict[str, Any]:
    ev: dict[str, Any] = {
        "id": eid, "event_type": "radius_auth", "service": service, "timestamp": ts, "success": success,
        "organization": "o1", "client_ip": "10.0.0.1", "auth_type": "pap", "geoip": {"country_code": "DE"},
        "initiated_by": {"type": "user", "username": initiator or "someone"},
    }
    if username is not None:
        ev["username"] = username
    return ev


RADIUS_EVENTS = [
    radius("r1", "2020-01-02T10:00:00Z", False, initiator="paul"),  # match: initiated_by
    radius("r2", "2020-01-02T11:00:00Z", False, username="Paul"),  # match: username, other case
    radius("r3", "2020-01-02T12:00:00Z", True, username="paul", initiator="paul"),  # success
    radius("r4", "2020-01-02T13:00:00Z", False, username="bob", initiator="bob"),  # someone else
    radius("r5", "2020-01-01T13:59:59Z", False, username="paul"),  # before start_time
    radius("r6", "2020-01-02T14:00:00Z", False, username="paul", service="directory"),  # other service
    radius("r7", "2020-01-01T14:00:00Z", False, username="paul"),  # match: start_time is inclusive
]


def body(**extra: Any) -> dict[str, Any]:
    return {"service": ["all"], "start_time": START, **extra}


def matching(query: EventQuery, events: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in events if evaluate(query.filter, e)]


def bad(payload: Any) -> str:
    with pytest.raises(BadRequest) as exc:
        parse_event_query(payload)
    return exc.value.message


# --- the contract's examples ---------------------------------------------------------------------------------


def test_contract_example_1_matches_only_user_create() -> None:
    q = parse_event_query(
        {"service": ["all"], "start_time": "2020-05-14T00:00:00Z", "search_term": {"and": {"event_type": ["user_create"]}}}
    )
    assert q.services is None
    assert matching(q, SAMPLE_EVENTS) == ["5eda6ab54fd13527dcd9ccfb"]
    assert q.filter == And((TimeRange(1589414400000, None), Match(lookup("event_type"), ("user_create",))))


def test_contract_example_2_radius_failures_of_paul() -> None:
    q = parse_event_query(
        {"service": ["radius"], "start_time": "2020-01-01T14:00:00Z",
         "search_term": {"and": [{"success": "false"}, {"or": [{"initiated_by.username": "paul"}, {"username": "paul"}]}]}}
    )
    assert q.services == ("radius",)
    assert matching(q, RADIUS_EVENTS) == ["r1", "r2", "r7"]
    assert matching(q, SAMPLE_EVENTS) == []


def test_contract_example_3_paging_knobs() -> None:
    q = parse_event_query(
        {"service": ["radius"], "start_time": "2020-01-01T14:00:00Z", "limit": 2000, "sort": "DESC",
         "fields": ["timestamp", "username", "client_ip", "success"],
         "search_after": [1576181718000, "DZrPyW8BNsa9iKWoOm7h"]}
    )
    assert (q.limit, q.sort, q.skip) == (2000, "DESC", 0)
    assert q.fields == ("timestamp", "username", "client_ip", "success")
    assert q.search_after == (1576181718000, "DZrPyW8BNsa9iKWoOm7h")
    assert q.filter == And((Match(lookup("service"), ("radius",)), TimeRange(1577887200000, None)))
    assert matching(q, SAMPLE_EVENTS) == ["5edfa1003cd5d34ff313c001"]


# --- search_term semantics -----------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, database=None)
@given(search_terms())
def test_search_terms_agree_with_reference(term: dict[str, Any]) -> None:
    node = parse_search_term(term)
    for ev in SAMPLE_EVENTS + RADIUS_EVENTS:
        assert evaluate(node, ev) == reference_match(term, ev), (term, ev["id"])
    compile_filter(node)  # every tree the parser builds is one the Cypher compiler accepts


def test_list_and_map_forms_are_equivalent() -> None:
    as_list = parse_search_term({"and": [{"event_type": "association_change"}, {"association.op": "add"}]})
    as_map = parse_search_term({"AND": {"Event_Type": "ASSOCIATION_CHANGE", "association.op": "Add"}})
    assert as_list == as_map
    assert matching_ids(as_map) == ["5eda6c104fd13527dcd9cd20", "5eda6c204fd13527dcd9cd30", "5eda6c304fd13527dcd9cd40"]


def matching_ids(node: Any, events: list[dict[str, Any]] = SAMPLE_EVENTS) -> list[str]:
    return [e["id"] for e in events if evaluate(node, e)]


def test_not_excludes_events_matching_any_of_its_conditions() -> None:
    node = parse_search_term({"not": [{"event_type": "association_change"}, {"service": "directory"}]})
    assert node == Not(Or((Match(lookup("event_type"), ("association_change",)), Match(lookup("service"), ("directory",)))))
    assert {e["service"] for e in SAMPLE_EVENTS if evaluate(node, e)} == {"sso", "radius", "systems", "ldap"}


def test_nested_in_map_form_and_any_of_lists() -> None:
    node = parse_search_term(
        {"or": {"event_type": ["SSO_AUTH", "ldap_bind"], "and": {"success": "FALSE", "not": {"service": "sso"}}}}
    )
    assert matching_ids(node) == ["5edf96a03cd5d34ff313b7aa", "5edfa1003cd5d34ff313c001", "5edfc1003cd5d34ff313e201"]


def test_country_code_either_spelling() -> None:
    node = parse_search_term({"and": {"geoip.country_code": "us"}})
    assert len(matching_ids(node)) == 11  # every sample event with geoip has only country_code2
    node = parse_search_term({"and": {"geoip.country_code2": "de"}})
    assert matching_ids(node, RADIUS_EVENTS) == [e["id"] for e in RADIUS_EVENTS]


def test_timestamp_equality() -> None:
    node = parse_search_term({"and": {"timestamp": "2020-06-05T15:54:29.568Z"}})
    assert node == TimeRange(1591372469568, 1591372469569)
    assert matching_ids(node) == ["5eda6ab54fd13527dcd9ccfb"]
    node = parse_search_term({"or": {"timestamp": ["2020-06-05T17:54:29.568+02:00", 1591372800120]}})
    assert matching_ids(node) == ["5eda6ab54fd13527dcd9ccfb", "5eda6c004fd13527dcd9cd11"]
    assert parse_search_term({"and": {"timestamp": "1591372800120"}}) == TimeRange(1591372800120, 1591372800121)


def test_service_alias_in_search_term() -> None:
    assert parse_search_term({"and": {"service": ["Alert", "alerts"]}}) == Match(lookup("service"), ("alerts",))


def test_empty_operators_constrain_nothing() -> None:
    assert parse_search_term({"and": []}) == MATCH_ALL
    assert parse_search_term({"or": {}}) == MATCH_ALL
    assert parse_search_term({"and": [{"not": []}, {"event_type": "x"}]}) == Match(lookup("event_type"), ("x",))


@pytest.mark.parametrize(
    ("term", "message"),
    [
        ({"and": [], "or": []}, "search_term: must be an object with exactly one of 'and', 'or', 'not'"),
        ({}, "search_term: must be an object"),
        ({"event_type": "x"}, "search_term: must be an object"),
        ([{"and": []}], "search_term: must be an object"),
        ("and", "search_term: must be an object"),
        ({"and": [{"foo": 1}]}, "search_term.and[0]: unknown field 'foo'"),
        ({"and": [{"success": "false"}, {"or": [{"foo": "x"}]}]}, "search_term.and[1].or[0]: unknown field 'foo'"),
        ({"and": {"foo": 1}}, "search_term.and: unknown field 'foo'"),
        ({"and": "x"}, "search_term.and: must be a list of conditions or an object"),
        ({"and": [{"a": 1, "b": 2}]}, "search_term.and[0]: each condition must be an object with exactly one key"),
        ({"and": [{}]}, "search_term.and[0]: each condition must be an object with exactly one key"),
        ({"and": ["event_type"]}, "search_term.and[0]: each condition must be an object with exactly one key"),
        ({"and": {"event_type": []}}, "search_term.and.event_type: an empty list matches nothing"),
        ({"and": {"success": "maybe"}}, "search_term.and.success: field 'success' takes a boolean"),
        ({"and": {"success": ["true", "perhaps"]}}, "search_term.and.success[1]: field 'success' takes a boolean"),
        ({"and": {"error_code": "x"}}, "search_term.and.error_code: field 'error_code' takes a whole number"),
        ({"and": {"error_code": 2**70}}, "search_term.and.error_code: 1180591620717411303424 is out of range"),
        ({"and": {"timestamp": "yesterday"}}, "search_term.and.timestamp: 'yesterday' is not an RFC 3339 timestamp"),
        ({"and": {"event_type": None}}, "search_term.and.event_type: must be a string, number or boolean, not null"),
        ({"and": {"event_type": [["a"]]}}, "search_term.and.event_type[0]: must be a string, number or boolean"),
        ({"and": {"event_type": {"or": ["a"]}}}, "search_term.and.event_type: must be a string, number or boolean"),
        ({"and": {"event_type": ["x"] * 1001}}, "search_term.and.event_type: more than 1000 values"),
    ],
)
def test_bad_search_terms(term: Any, message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_search_term(term)
    assert exc.value.message.startswith(message)
    assert bad(body(search_term=term)).startswith(message)


def nested(depth: int) -> dict[str, Any]:
    term: dict[str, Any] = {"and": [{"event_type": "x"}]}
    for _ in range(depth - 1):
        term = {"or": [term]}
    return term


def test_depth_limit() -> None:
    parse_search_term(nested(32))
    with pytest.raises(BadRequest, match=r"^search_term is too complex: and/or/not nested deeper than 32"):
        parse_search_term(nested(33))
    # far past the limit costs no deeper recursion than the limit itself
    with pytest.raises(BadRequest, match="too complex"):
        parse_search_term(nested(5000))


def test_condition_and_value_budgets() -> None:
    parse_search_term({"or": [{"event_type": str(i)} for i in range(1000)]})
    with pytest.raises(BadRequest, match=r"^search_term is too complex: more than 1000 conditions"):
        parse_search_term({"or": [{"event_type": str(i)} for i in range(1001)]})
    with pytest.raises(BadRequest, match=r"^search_term is too complex: more than 1000 and/or/not"):
        parse_search_term({"or": [{"and": []} for _ in range(1001)]})
    with pytest.raises(BadRequest, match=r"^search_term is too complex: more than 10000 values in all"):
        parse_search_term({"or": [{"event_type": [f"{i}-{j}" for j in range(1000)]} for i in range(11)]})


def test_custom_location_prefix() -> None:
    with pytest.raises(BadRequest, match=r"^filter\.or\[0\]: unknown field 'nope'"):
        parse_search_term({"or": [{"nope": 1}]}, where="filter")


# --- the rest of the EventQuery ------------------------------------------------------------------------------


def test_defaults() -> None:
    q = parse_event_query({"service": ["directory", "SSO", "directory"], "start_time": START, "extra_key": 1})
    assert q.services == ("directory", "sso")
    assert (q.start_ms, q.end_ms, q.limit, q.sort, q.search_after, q.skip, q.fields) == (
        1577836800000, None, 1000, "ASC", None, 0, None)
    assert q.filter == And((Match(lookup("service"), ("directory", "sso")), TimeRange(1577836800000, None)))


def test_services() -> None:
    assert parse_event_query(body(service=["directory", "all"])).services is None
    assert parse_event_query(body(service=["alert", "alerts"])).services == ("alerts",)
    for name in SERVICES:
        assert parse_event_query(body(service=[name])).services == (name,)


def test_time_range() -> None:
    q = parse_event_query(body(start_time="2020-06-05T16:00:00.120456+00:00", end_time="2020-06-05T10:02:00-06:00"))
    assert (q.start_ms, q.end_ms) == (1591372800120, 1591372920000)
    assert matching(q, SAMPLE_EVENTS) == ["5eda6c004fd13527dcd9cd11", "5eda6c104fd13527dcd9cd20"]  # end exclusive


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 1000), (1, 1), (10_000, 10_000), (10_001, 10_000), (2000.0, 2000), (0, 1000), (-5, 1000),
     ("50", 1000), (True, 1000), (12.5, 1000), ([], 1000)],
)
def test_limit_fallbacks(value: Any, expected: int) -> None:
    assert parse_event_query(body(limit=value)).limit == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "ASC"), ("desc", "DESC"), (" Desc ", "DESC"), ("asc", "ASC"), ("sideways", "ASC"), (1, "ASC")],
)
def test_sort_fallbacks(value: Any, expected: str) -> None:
    assert parse_event_query(body(sort=value)).sort == expected


def test_skip() -> None:
    assert parse_event_query(body(skip=25)).skip == 25
    assert parse_event_query(body(skip=0)).skip == 0
    assert parse_event_query(body(skip=None)).skip == 0
    for value in (-1, "10", 1.5, True, [], 2**63):
        assert bad(body(skip=value)) == "skip must be a non-negative integer"


def test_q_and_exact_match() -> None:
    assert parse_event_query(body(q="  Engineering ")).filter == And((TimeRange(1577836800000, None), Text("engineering")))
    q = parse_event_query(body(exact_match="GitHub"))
    assert q.filter == And((TimeRange(1577836800000, None), Exact("github")))
    assert matching(q, SAMPLE_EVENTS) == ["5eda6c204fd13527dcd9cd30", "5edf96a03cd5d34ff313b7aa"]
    q = parse_event_query(body(q="build"))  # values only: the useragent key "build" does not count
    assert set(matching(q, SAMPLE_EVENTS)) == {"5eda6c304fd13527dcd9cd40", "5edfb1003cd5d34ff313d101"}
    assert parse_event_query(body(q="", exact_match=None)).filter == TimeRange(1577836800000, None)


def test_fields_keep_known_paths_in_registry_spelling() -> None:
    q = parse_event_query(body(fields=["Timestamp", "nope", "initiated_by.USERNAME", "geoip", 7, "timestamp",
                                       "system.displayname", "changes.field"]))
    assert q.fields == ("timestamp", "initiated_by.username", "geoip", "system.displayName", "changes.field")


def test_parse_distinct() -> None:
    q, field = parse_distinct(body(field="Initiated_By.Username"))
    assert field is lookup("initiated_by.username") and q.services is None
    with pytest.raises(BadRequest, match=r"^field is required"):
        parse_distinct(body())
    with pytest.raises(BadRequest, match=r"^field: unknown field 'nope'"):
        parse_distinct(body(field="nope"))
    with pytest.raises(BadRequest, match=r"^service is required"):
        parse_distinct({"start_time": START, "field": "event_type"})


def test_parse_interval() -> None:
    q, unit, value, tz = parse_interval(body(interval_unit="h"))
    assert (unit, value, tz) == ("h", 1, timezone.utc)
    _, unit, value, tz = parse_interval(body(interval_unit="d", interval_value="2", timezone="-0500"))
    assert (unit, value, tz) == ("d", 2, timezone(timedelta(hours=-5)))
    assert parse_interval(body(interval_unit="w", interval_value=3, timezone="+05:30"))[2:] == (
        3, timezone(timedelta(hours=5, minutes=30)))
    assert parse_interval(body(interval_unit="s", timezone="Z"))[3] == timezone.utc
    assert parse_interval(body(interval_unit="m", timezone="+02"))[3] == timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "interval_unit is required"),
        ({"interval_unit": "M"}, "interval_unit: 'M' is not one of s, m, h, d, w"),
        ({"interval_unit": "y"}, "interval_unit: 'y' is not one of"),
        ({"interval_unit": "h", "interval_value": "0"}, "interval_value: must be a positive whole number"),
        ({"interval_unit": "h", "interval_value": -2}, "interval_value: must be a positive whole number"),
        ({"interval_unit": "h", "interval_value": "two"}, "interval_value: must be a positive whole number"),
        ({"interval_unit": "h", "interval_value": True}, "interval_value: must be a positive whole number"),
        ({"interval_unit": "h", "timezone": "America/Denver"}, "timezone: 'America/Denver' is not a UTC offset"),
        ({"interval_unit": "h", "timezone": "+2500"}, "timezone: '+2500' is not a UTC offset"),
        ({"interval_unit": "h", "timezone": 5}, "timezone: 5 is not a UTC offset"),
    ],
)
def test_bad_interval(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest) as exc:
        parse_interval(body(**extra))
    assert exc.value.message.startswith(message)


# --- every documented 400 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [None, [], "x", 1, [{"service": ["all"]}]])
def test_body_must_be_an_object(payload: Any) -> None:
    assert bad(payload).startswith("body: must be a JSON object")


def test_service_errors() -> None:
    assert bad({"start_time": START}).startswith("service is required")
    assert bad(body(service=None)).startswith("service is required")
    assert bad(body(service=[])).startswith("service: must be a non-empty list")
    assert bad(body(service="directory")).startswith("service: must be a non-empty list")
    assert bad(body(service=["directory", 3])).startswith("service[1]: must be a string")
    message = bad(body(service=["directory", "nope"]))
    assert message.startswith("service: 'nope' is not a supported service; supported values: all, directory, sso,")
    for name in (*SERVICES, "alert"):
        assert name in message


def test_start_time_errors() -> None:
    assert bad({"service": ["all"]}).startswith("start_time is required")
    assert bad(body(start_time="2020-13-01T00:00:00Z")).startswith("start_time: '2020-13-01T00:00:00Z' is not a valid")
    assert bad(body(start_time="yesterday")).startswith("start_time: 'yesterday' is not an RFC 3339 timestamp")
    assert bad(body(start_time=1577836800000)).startswith("start_time: must be an RFC 3339 string")
    assert bad(body(end_time="soon")).startswith("end_time: 'soon' is not an RFC 3339 timestamp")


@pytest.mark.parametrize("end", ["2019-12-31T23:59:59Z", START, "2020-01-01T01:00:00+01:00"])
def test_end_time_not_after_start_time(end: str) -> None:
    message = bad(body(end_time=end))
    assert message.startswith("Start Time not after End Time")
    assert "end_time" in message and "start_time" in message


@pytest.mark.parametrize("fields", [[], "timestamp", ["nope"], ["nope", 3, None], {"timestamp": 1}])
def test_fields_errors(fields: Any) -> None:
    assert bad(body(fields=fields)).startswith("fields: ")


@pytest.mark.parametrize(("q", "exact"), [("a", "b"), ("paul", "paul")])
def test_q_with_exact_match(q: str, exact: str) -> None:
    assert bad(body(q=q, exact_match=exact)).startswith("q and exact_match cannot be combined")


def test_q_and_exact_match_must_be_strings() -> None:
    assert bad(body(q=5)).startswith("q: must be a string")
    assert bad(body(exact_match=["a"])).startswith("exact_match: must be a string")


@pytest.mark.parametrize(
    "cursor",
    [[], [1576181718000], [1576181718000, "a", "b"], ["1576181718000", "a"], [1576181718000, 5], [True, "a"],
     [1.5, "a"], [1576181718000, ""], "1576181718000,a", {"ts": 1, "id": "a"}, [2**63, "a"]],
)
def test_bad_search_after(cursor: Any) -> None:
    assert bad(body(search_after=cursor)).startswith("search_after: must be [<epoch ms number>, \"<event id>\"]")


def test_search_after_accepts_integral_float() -> None:
    assert parse_event_query(body(search_after=[1576181718000.0, "x"])).search_after == (1576181718000, "x")


# --- projection ----------------------------------------------------------------------------------------------


def test_project_nested_paths() -> None:
    ev = SAMPLE_EVENTS[0]
    assert project(ev, ["initiated_by.email", "timestamp", "geoip.country_code2", "nope.x", "resource.nope"]) == {
        "initiated_by": {"email": "admin@example.org"},
        "geoip": {"country_code2": "US"},
        "timestamp": "2020-06-05T15:54:29.568Z",
    }


def test_project_lists_elementwise_and_whole_objects() -> None:
    ev = {"changes": [{"field": "a", "from": 1, "to": 2}, {"to": 3}, "scalar", {"field": "b", "to": [1]}],
          "resource": {"id": "r", "type": "user"}, "id": "e"}
    assert project(ev, ["changes.field", "changes.to"]) == {
        "changes": [{"field": "a", "to": 2}, {"to": 3}, {"field": "b", "to": [1]}]}
    assert project(ev, ["resource", "resource.id", "id"]) == {"resource": {"id": "r", "type": "user"}, "id": "e"}
    assert project(ev, ["resource.id", "resource"]) == {"resource": {"id": "r", "type": "user"}}
    assert project(ev, ["changes.nope"]) == {}
    assert ev["resource"] == {"id": "r", "type": "user"}  # the event is not modified


def test_project_with_parsed_fields() -> None:
    q = parse_event_query(body(fields=["Success", "INITIATED_BY.username", "association.connection.to"]))
    assert q.fields is not None
    assert project(SAMPLE_EVENTS[2], q.fields) == {
        "association": {"connection": {"to": {"object_id": "5eda6c004fd13527dcd9cd10", "type": "user_group",
                                              "name": "Engineering"}}},
    }
    assert project(SAMPLE_EVENTS[5], q.fields) == {"initiated_by": {"username": "slucero"}, "success": True}
