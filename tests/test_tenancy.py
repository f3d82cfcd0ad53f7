"""Tenancy, property-based: two organizations hold look-alike data (the same event ids, users, groups, systems);
no query of any kind made with organization A's key returns a byte of organization B's data.

B's copy differs from A's only by a marker in every name and address, so any leak shows up as the marker (or B's
organization id) somewhere in a response body.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tests.conftest import ingest, make_key, new_org, sample_events
from tests.search_terms import search_terms

MARK = "zq9leak"
B_IP = "203.0.113.99"
NAME_KEYS = {"username", "name", "email", "hostname", "displayName", "display_label", "region_name", "to"}
IDS = {"user": "5eda6ab54fd13527dcd9ccf9", "group": "5eda6c004fd13527dcd9cd10",
       "application": "5ed0aa0e4fd13527dcd9aa01", "system": "5ed0bb0e4fd13527dcd9bb01",
       "admin": "5ce434e77128503e528e747c"}


def mark(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: mark(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mark(v, key) for v in value]
    if key in ("client_ip", "src_ip"):
        return B_IP
    if key in NAME_KEYS and isinstance(value, str):
        return value + MARK
    return value


@pytest.fixture(scope="module")
def tenants(db):
    a, b = new_org(), new_org()
    ingest(db, sample_events(a))
    ingest(db, [mark(ev) for ev in sample_events(b)])
    return a, b, make_key(db, a), make_key(db, b)


def clean(text: str, b: str) -> None:
    assert MARK not in text and B_IP not in text and b not in text, text[:500]


def b64(kind: str, key: str) -> str:
    return base64.b64encode(f"{kind}:{key}".encode()).decode()


AT = st.sampled_from([None, "2020-06-01T00:00:00Z", "2020-06-10T00:00:00Z", "2020-06-21T00:00:00Z",
                      "2030-01-01T00:00:00Z"])
ENTITY_FIELDS = {
    "user": "username email lifecycle { id kind counterpart { name } initiator { email } target { name } "
            "changes { to } } accessHistory { resource { name } clientIps countries } groups(asOf: $at) "
            "{ group { name } } access(asOf: $at) { resource { name entity { name } } paths { hops { "
            "source { name } target { name } grantedBy { clientIp initiator { email } } } } } "
            "accessPath(to: \"%s\", asOf: $at) { hops { target { name } } } "
            "accessDiff(from: \"2020-06-01T00:00:00Z\", to: \"2030-01-01T00:00:00Z\") { lost { resource { name } } "
            "gained { resource { name } events { clientIp } } }" % IDS["system"],
    "group": "name members(asOf: $at) { member { name } }",
    "system": "hostname whoCanAccess(asOf: $at) { user { name } } whoAccessed { username clientIps }",
    "application": "name whoCanAccess(asOf: $at) { user { name } } whoAccessed { username countries }",
    "admin": "email changes(to: $at) { id target { name } clientIp counterpart { name } }",
}
EVENT_FIELDS = ("{ totalCount edges { cursor node { id organization raw clientIp initiatedBy { name } "
                "target { name } accessed { name } connection { name } } } }")


@st.composite
def graphql_queries(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["entity", "events", "node", "aggregates", "investigate"]))
    at = draw(AT)
    if kind == "entity":
        name = draw(st.sampled_from(sorted(ENTITY_FIELDS)))
        by = draw(st.sampled_from(["id", "name"]))
        arg = {"user": "username: \"slucero\"", "group": "name: \"Engineering\"", "system": "hostname: \"build-01\"",
               "application": "name: \"GitHub\"", "admin": "email: \"admin@example.org\""}[name] \
            if by == "name" else f"id: \"{IDS[name]}\""
        return (f"query($at: DateTime) {{ {name}({arg}) {{ id {ENTITY_FIELDS[name]} "
                f"events(first: 50) {EVENT_FIELDS} }} }}", {"at": at})
    if kind == "events":
        filt = draw(st.sampled_from([{}, {"text": "slucero"}, {"clientIp": ["0.0.0.0/0"]},
                                     {"initiator": {"email": "admin@example.org"}}, {"text": MARK},
                                     {"fields": [{"path": "resource.username", "contains": "slu"}]}]))
        return f"query($f: EventFilter) {{ events(filter: $f, first: 100) {EVENT_FIELDS} }}", {"f": filt}
    if kind == "node":
        label = draw(st.sampled_from(["User", "Group", "System", "Application", "Admin"]))
        gid = b64(label, IDS[label.lower()])
        return "query($id: ID!) { node(id: $id) { id name entityType } }", {"id": gid}
    if kind == "aggregates":
        field = draw(st.sampled_from(["client_ip", "resource.username", "initiated_by.email", "organization",
                                      "association.connection.to.name"]))
        return ("query($f: String!) { eventCount eventDistinct(field: $f) { buckets { value count } } "
                "eventHistogram(interval: \"1d\") { count } ipAddress(address: \"%s\") { address } }" % B_IP,
                {"f": field})
    return ("{ failedLoginBursts(window: \"30d\", threshold: 2) { username clientIps } "
            "accessAfterRevocation { user { name } resource { name } } newCountryLogins { username country } }", {})


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=graphql_queries())
def test_graphql_never_returns_another_organizations_data(client, tenants, q):
    a, b, key_a, _ = tenants
    query, variables = q
    r = client.post("/graphql", json={"query": query, "variables": variables}, headers={"x-api-key": key_a})
    assert r.status_code == 200
    body = r.json()
    assert not body.get("errors"), body["errors"]
    clean(r.text, b)


REST = ["/insights/directory/v1/events", "/insights/directory/v1/events/count",
        "/insights/directory/v1/events/distinct", "/insights/directory/v1/events/interval"]


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(REST), term=st.none() | search_terms(max_depth=3),
       field=st.sampled_from(["client_ip", "organization", "resource.username", "association.connection.to.name"]),
       q=st.sampled_from([None, "slucero", MARK, B_IP]))
def test_rest_never_returns_another_organizations_data(client, tenants, path, term, field, q):
    a, b, key_a, _ = tenants
    body: dict[str, Any] = {"service": ["all"], "start_time": "2020-01-01T00:00:00Z", "field": field,
                            "interval_unit": "d"}
    if term is not None:
        body["search_term"] = term
    if q is not None:
        body["q"] = q
    r = client.post(path, json=body, headers={"x-api-key": key_a})
    assert r.status_code == 200, r.text
    clean(r.text, b)
    clean(json.dumps(dict(r.headers)), b)


def test_the_look_alike_data_is_really_there(client, tenants):
    """The two properties above are meaningful only if B's key does see B's marked data."""
    a, b, _, key_b = tenants
    r = client.post("/graphql", json={"query": '{ user(id: "%s") { username } }' % IDS["user"]},
                    headers={"x-api-key": key_b})
    assert r.json()["data"]["user"]["username"] == "slucero" + MARK


def test_org_header_cannot_reach_another_organization(client, tenants):
    a, b, key_a, _ = tenants
    for path in REST[:2]:
        r = client.post(path, json={"service": ["all"], "start_time": "2020-01-01T00:00:00Z"},
                        headers={"x-api-key": key_a, "x-org-id": b})
        assert r.status_code == 403
    r = client.post("/graphql", json={"query": "{ eventCount }"}, headers={"x-api-key": key_a, "x-org-id": b})
    assert r.status_code == 403


def test_subscriptions_never_carry_another_organizations_events(db, client, tenants):
    a, b, key_a, _ = tenants
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                  headers={"x-api-key": key_a}) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe",
                      "payload": {"query": "subscription { eventAdded { id organization raw } }"}})
        time.sleep(0.3)
        fresh = [dict(ev, id=ev["id"] + "-sub") for ev in sample_events()]
        ingest(db, [mark(dict(ev, organization=b)) for ev in fresh])
        ingest(db, [dict(ev, organization=a) for ev in fresh[:1]])
        msg = ws.receive_json()
        assert msg["type"] == "next"
        clean(json.dumps(msg), b)
        assert msg["payload"]["data"]["eventAdded"]["organization"] == a
