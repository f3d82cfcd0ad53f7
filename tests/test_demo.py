"""The demo generator: vendor-shaped, deterministic, exact in count, lazy, and telling a consistent story."""

from __future__ import annotations

import collections
import itertools
import re
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest

from app.ingest.demo import DEFAULT_END, generate
from app.model.events import SERVICES, parse_event

AUTH_TYPES = {"sso_auth", "user_login_attempt", "admin_login_attempt", "radius_auth", "radius_auth_attempt",
              "login_attempt", "ldap_bind", "ldap_search"}
OBJECT_TYPES = {"user", "user_group", "system", "system_group", "application", "radius_server", "ldap_server"}
HEX24 = re.compile(r"^[0-9a-f]{24}$")
TS = {  # fractional digits per service, as the vendor sends them
    "directory": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"),
    "sso": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$"),
    "radius": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
    "systems": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
    "ldap": re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
}


@pytest.fixture(scope="module")
def sample() -> list[dict]:
    return list(generate(events=20_000, seed=5))


def test_same_seed_same_events_and_other_seed_differs() -> None:
    a, b = list(generate(events=3000, seed=42)), list(generate(events=3000, seed=42))
    assert a == b
    c = list(generate(events=3000, seed=43))
    assert {e["id"] for e in a}.isdisjoint(e["id"] for e in c)
    assert [e["event_type"] for e in a] != [e["event_type"] for e in c]


@pytest.mark.parametrize("n", [0, 1, 17, 400, 5000, 12_345])
def test_exact_count(n: int) -> None:
    assert sum(1 for _ in generate(events=n, seed=2)) == n


def test_exact_count_with_many_users_and_few_events() -> None:
    events = list(generate(users=500, days=3, events=100))  # fewer events than the setup plan
    assert len(events) == 100
    assert events[0]["event_type"] == "admin_login_attempt"
    assert {e["service"] for e in events} == {"directory"}


def test_ids_are_unique_24_hex_and_carry_the_event_second() -> None:
    events = list(generate(events=60_000, users=120, seed=9))
    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)
    assert all(HEX24.match(i) for i in ids)
    for e in events[::97]:
        assert int(e["id"][:8], 16) == parse_event(e).ts // 1000


def test_common_fields_services_and_timestamp_precision(sample: list[dict]) -> None:
    start_ms = int((DEFAULT_END - timedelta(days=30)).timestamp() * 1000)
    end_ms = int(DEFAULT_END.timestamp() * 1000)
    for e in sample:
        for key in ("id", "event_type", "service", "timestamp", "organization", "@version"):
            assert key in e, (key, e)
        assert e["@version"] == "1" and e["organization"] == "5f0000000000000000000001"
        assert e["service"] in SERVICES
        assert TS[e["service"]].match(e["timestamp"]), e
        assert start_ms <= parse_event(e).ts < end_ms  # also: the project's own parser accepts every event
        if e["service"] == "directory":
            assert e["provider"] is None and e["auth_method"] in ("session", "api key")
            assert "client_ip" in e and "geoip" in e and "initiated_by" in e
        if e["event_type"] in AUTH_TYPES:
            assert isinstance(e["success"], bool)
        ib = e.get("initiated_by")
        if ib is not None:
            assert ib["type"] in ("admin", "user", "systemuser")
            assert ("email" in ib) if ib["type"] == "admin" else ("username" in ib)


def test_service_specific_shapes(sample: list[dict]) -> None:
    by_type: dict[str, list[dict]] = collections.defaultdict(list)
    for e in sample:
        by_type[e["event_type"]].append(e)
    sso = by_type["sso_auth"][0]
    assert set(sso["application"]) >= {"id", "name", "display_label", "sso_type"}
    assert sso["application"]["sso_type"] == "saml" and isinstance(sso["idp_initiated"], bool)
    radius = by_type["radius_auth_attempt"] + by_type["radius_auth"]
    assert by_type["radius_auth"] and by_type["radius_auth_attempt"]  # older and newer names both occur
    assert all(r["client_ip"].startswith("10.") and r["auth_type"] in ("eap", "pap") for r in radius)
    assert any("id" not in r["initiated_by"] for r in radius)
    assert all(r["outer"]["eap_type"] == r["eap_type"] for r in radius if r["auth_type"] == "eap")
    logins = by_type["login_attempt"]
    assert all(set(x["system"]) == {"id", "hostname", "displayName"} and x["initiated_by"]["type"] == "systemuser"
               for x in logins)
    assert {x["process_name"] for x in logins} >= {"sshd", "loginwindow"}
    assert any(not x["src_ip"].startswith("10.") and not x["success"] for x in logins)  # internet noise
    for kind, op in (("ldap_bind", "bind"), ("ldap_search", "search")):
        assert all(x["operation_type"] == op and x["dn"].startswith(f"uid={x['username']},") for x in by_type[kind])
    user_create = by_type["user_create"][0]
    assert {c["field"] for c in user_create["changes"]} >= {"firstname", "lastname", "username", "created", "id"}
    assert set(user_create["resource"]) == {"id", "type", "username", "email"}
    suspended = [e for e in by_type["user_update"] if e["changes"] == [
        {"field": "suspended", "from": False, "to": True}]]
    assert suspended and by_type["user_lockout"] and by_type["totp_finish_enrollment"]
    assert by_type["user_password_change"] and by_type["admin_create"] and by_type["application_create"]


def test_variety_of_spellings_countries_and_user_agents(sample: list[dict]) -> None:
    geo = [e["geoip"] for e in sample if "geoip" in e]
    new = [g for g in geo if "country_code" in g]
    assert all({"continent_code", "region_code", "region_name", "timezone", "latitude", "longitude"} <= set(g)
               for g in new)
    assert 0.02 < sum("country_code2" in g for g in geo) / len(geo) < 0.3
    assert len({g.get("country_code") or g["country_code2"] for g in geo}) >= 8
    with_ua = [e for e in sample if "useragent" in e or "user_agent" in e]
    raw = [e for e in with_ua if isinstance(e.get("useragent"), str)]
    assert 0.02 < len(raw) / len(with_ua) < 0.1 and raw[0]["useragent"].startswith("Mozilla/5.0")
    assert any("user_agent" in e for e in with_ua)
    objs = [e.get("useragent") or e["user_agent"] for e in with_ua if e not in raw]
    assert all({"name", "major", "minor", "os", "os_name", "os_major", "device"} <= set(o) for o in objs)


def test_auths_dominate_and_failures_are_a_minority(sample: list[dict]) -> None:
    types = collections.Counter(e["event_type"] for e in sample)
    auths = sum(types[t] for t in AUTH_TYPES)
    assert auths / len(sample) > 0.9
    assert types.most_common(1)[0][0] == "sso_auth"
    assert {"association_change", "user_create", "group_create", "system_create"} <= set(types)
    failures = sum(1 for e in sample if e.get("success") is False)
    assert 0.04 < failures / len(sample) < 0.14
    per_user = collections.Counter(e["initiated_by"]["id"] for e in sample
                                   if e["event_type"] == "user_login_attempt" and e["success"] is False)
    assert per_user.most_common(1)[0][1] >= 8  # a burst against one account


def test_association_changes_have_valid_connections(sample: list[dict]) -> None:
    created = {e["resource"]["id"] for e in sample if e["event_type"].endswith("_create")}
    pairs, ops = set(), set()
    for e in sample:
        if e["event_type"] != "association_change":
            continue
        assoc = e["association"]
        ops.add(assoc["op"])
        ends = assoc["connection"]["from"], assoc["connection"]["to"]
        for end in ends:
            assert set(end) == {"object_id", "type", "name"} and end["name"]
            assert HEX24.match(end["object_id"]) and end["type"] in OBJECT_TYPES
            assert end["object_id"] in created or end["type"] == "ldap_server"
        assert e["resource"]["id"] in {end["object_id"] for end in ends}
        pairs.add((ends[0]["type"], ends[1]["type"]))
    assert ops == {"add", "remove"}
    assert pairs >= {("user", "user_group"), ("user_group", "application"), ("user_group", "system_group"),
                     ("user_group", "system"), ("user_group", "radius_server"), ("user_group", "ldap_server"),
                     ("system", "system_group"), ("user", "system"), ("user", "application")}


def test_history_is_consistent_with_a_few_accesses_after_revocation() -> None:
    """Replay in time order: nobody logs in before being created; SSO success needs a grant, bar a few."""
    events = sorted(generate(events=40_000, users=80, seed=11), key=lambda e: (parse_event(e).ts, e["id"]))
    edges: dict[str, set[str]] = collections.defaultdict(set)
    system_of: dict[str, set[str]] = collections.defaultdict(set)  # system group -> systems
    created: set[str] = set()
    stats = collections.Counter()
    for e in events:
        if e["event_type"] == "user_create":
            created.add(e["resource"]["id"])
        elif e["event_type"] == "association_change":
            a, b = e["association"]["connection"]["from"], e["association"]["connection"]["to"]
            if a["type"] == "system":
                target = system_of[b["object_id"]]
                (target.add if e["association"]["op"] == "add" else target.discard)(a["object_id"])
            (edges[a["object_id"]].add if e["association"]["op"] == "add" else edges[a["object_id"]].discard)(
                b["object_id"])
        elif e["event_type"] in ("sso_auth", "user_login_attempt") and e["initiated_by"]["type"] == "user":
            uid = e["initiated_by"]["id"]
            stats["before_create"] += uid not in created
            if e["event_type"] == "sso_auth" and e["success"]:
                reach = set(edges[uid]).union(*(edges[g] for g in edges[uid]))
                stats["sso_ok"] += 1
                stats["no_grant"] += e["application"]["id"] not in reach
    assert stats["before_create"] == 0
    assert 1 <= stats["no_grant"] < 0.01 * stats["sso_ok"]


def test_is_lazy_and_memory_stays_flat() -> None:
    gen = generate(events=10**9)
    assert iter(gen) is gen
    assert len(list(itertools.islice(gen, 1000))) == 1000  # a billion were asked for; nothing was built
    tracemalloc.start()
    try:
        for _ in generate(events=100_000):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # a list of 100k events would take hundreds of MB


def test_events_are_independent_copies() -> None:
    first = list(generate(events=3000, seed=4))
    mutated = []
    for e in generate(events=3000, seed=4):
        for key in ("geoip", "useragent", "user_agent", "application", "system"):
            if isinstance(e.get(key), dict):
                e[key].clear()
        mutated.append(e["id"])
    again = list(generate(events=3000, seed=4))
    assert again == first and mutated == [e["id"] for e in first]


def test_end_and_days_bound_the_history() -> None:
    end = datetime(2025, 2, 3, 10, 37, tzinfo=timezone.utc)  # not on the hour
    ts = [parse_event(e).ts for e in generate(events=5000, days=2, end=end)]
    assert min(ts) >= (end - timedelta(days=2)).timestamp() * 1000 and max(ts) < end.timestamp() * 1000


def test_rejects_nonsense_arguments() -> None:
    with pytest.raises(ValueError):
        generate(users=0)
    with pytest.raises(ValueError):
        generate(events=-1)
