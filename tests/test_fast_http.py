"""A request the service has answered before takes the short way through the view (app/gql/fast_http.py): it must
answer exactly as the long way does — status, content type, body, errors and their masking — and leave alone
whatever it cannot answer the same."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from app.gql import fast_http
from tests.conftest import ingest, make_key, sample_events

PAGE = "query($f: EventFilter, $n: Int!) { events(filter: $f, first: $n) { edges { cursor node { id eventType } } " \
       "pageInfo { hasNextPage } } }"
TWO = "query A { eventCount } query B { events(first: 2) { edges { node { id } } } }"
INGEST = "mutation($e: [JSON!]!) { ingestEvents(events: $e) { accepted } }"

CASES: dict[str, tuple[Any, bool]] = {  # name -> (body, whether the short way may answer its repeat)
    "typename": ({"query": "{ __typename }"}, True),
    "page": ({"query": PAGE, "variables": {"f": {"services": ["sso"]}, "n": 3}}, True),
    "visible error": ({"query": PAGE, "variables": {"n": -1}}, True),  # first: -1, named with its path
    "variable error": ({"query": PAGE, "variables": {"n": "three"}}, True),  # graphql-core's coercion message
    "operation B": ({"query": TWO, "operationName": "B"}, True),
    "no operation name": ({"query": TWO}, False),  # which one? the long way's error
    "unknown operation": ({"query": TWO, "operationName": "C"}, False),
    "mutation, read key": ({"query": INGEST, "variables": {"e": [{"id": "x"}]}}, True),  # scope: a visible error
    "subscription": ({"query": "subscription { eventAdded { id } }"}, False),  # needs a WebSocket
    "extensions": ({"query": "{ __typename }", "extensions": {"x": 1}}, False),
    "batch": ([{"query": "{ __typename }"}], False),
}


def _send(client: Any, key: str, body: Any) -> tuple[int, str, Any]:
    r = client.post("/graphql", content=json.dumps(body), headers={"x-api-key": key,
                                                                   "content-type": "application/json"})
    kind = r.headers.get("content-type", "")
    return r.status_code, kind, r.json() if kind.startswith("application/json") else r.text


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per request answered the short way."""
    answered: list[bool] = []
    real = fast_http.answer

    async def spy(*args: Any) -> Any:
        answered.append(True)
        return await real(*args)
    monkeypatch.setattr(fast_http, "answer", spy)
    return answered


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_repeated_request_answers_as_the_long_way(name: str, db, org, client, key, monkeypatch, taken) -> None:
    ingest(db, sample_events(org))
    body, short = CASES[name]
    first = _send(client, key, body)  # the long way (unless an earlier test sent it): the document is now cached
    before = len(taken)
    again = _send(client, key, body)
    went_short = len(taken) > before
    monkeypatch.setattr(fast_http, "ENABLED", False)
    long_way = _send(client, key, body)
    assert again == long_way == first
    assert went_short == short, "a repeat of what the long way validated goes the short way, nothing else"


def test_an_internal_error_is_masked_and_logged_as_the_long_way_does(db, org, client, key, monkeypatch, caplog,
                                                                     taken) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the secret detail")
    monkeypatch.setattr("app.gql.event_types.find_events", broken)
    body = {"query": "{ events(first: 1) { edges { cursor } } }"}
    answers, logged = [], []
    for enabled in (True, True, False):  # the long way, the short way, the long way
        monkeypatch.setattr(fast_http, "ENABLED", enabled)
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            answers.append(_send(client, key, body))
        logged.append(any("the secret detail" in r.getMessage() or "the secret detail" in str(r.exc_info)
                          for r in caplog.records))
    assert answers[0] == answers[1] == answers[2]
    status, _, out = answers[1]
    assert status == 200 and out["data"] is None and "secret" not in json.dumps(out)
    assert out["errors"][0]["path"] == ["events"]
    assert logged == [True, True, True], "the cause is in the log, whichever way the request went"
    assert taken == [True], "the repeat went the short way"


def test_a_key_with_ingest_scope_ingests_the_short_way_too(db, org, client) -> None:
    ik = make_key(db, org, scope="ingest")
    events = sample_events(org)[:2]
    body = {"query": INGEST, "variables": {"e": events}}
    assert _send(client, ik, body)[2] == {"data": {"ingestEvents": {"accepted": 2}}}
    assert _send(client, ik, body)[2] == {"data": {"ingestEvents": {"accepted": 0}}}  # duplicates, by id
