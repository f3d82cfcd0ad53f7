"""Tests for app.ingest.enrich: tiny GeoIP2-shaped .mmdb files built locally, no downloads."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from app.ingest.enrich import Enricher

BERLIN_IP = "81.2.69.160"
V6_IP = "2a02:2e0::1"
PRIVATE_IP = "10.20.0.14"

CITY_RECORD: dict[str, Any] = {
    "continent": {"code": "EU", "geoname_id": 6255148, "names": {"en": "Europe"}},
    "country": {"iso_code": "DE", "geoname_id": 2921044, "names": {"en": "Germany"}},
    "subdivisions": [{"iso_code": "BE", "geoname_id": 2950157, "names": {"en": "Berlin"}}],
    "city": {"geoname_id": 2950159, "names": {"en": "Berlin"}},
    "location": {"time_zone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4},
}
COUNTRY_RECORD: dict[str, Any] = {
    "continent": CITY_RECORD["continent"],
    "country": CITY_RECORD["country"],
}

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36"
)
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"

# JumpCloud's own parsed shape (from the reference sample): must be left alone.
UA_OBJECT = {
    "patch": "4103", "minor": "0", "major": "83", "os": "Mac OS X", "build": "",
    "os_minor": "15", "os_major": "10", "name": "Chrome", "os_name": "Mac OS X",
    "device": "Other",
}


def _write_db(path: Path, database_type: str, record: dict[str, Any]) -> Path:
    # IPv6 tree with IPv4 under ::/96, like MaxMind's own databases.
    writer = MMDBWriter(ip_version=6, database_type=database_type, ipv4_compatible=True)
    writer.insert_network(IPSet(["81.2.69.0/24", "2a02:2e0::/32"]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return _write_db(tmp_path / "city.mmdb", "GeoIP2-City", CITY_RECORD)


@pytest.fixture
def country_db(tmp_path: Path) -> Path:
    return _write_db(tmp_path / "country.mmdb", "GeoIP2-Country", COUNTRY_RECORD)


def test_city_db_adds_full_geoip(city_db: Path) -> None:
    with Enricher(city_db) as enricher:
        for ip in (BERLIN_IP, V6_IP):
            event = {"id": "e1", "client_ip": ip}
            assert enricher.enrich(event) is event
            assert event["geoip"] == {
                "country_code": "DE",
                "continent_code": "EU",
                "region_code": "BE",
                "region_name": "Berlin",
                "timezone": "Europe/Berlin",
                "latitude": 52.5,
                "longitude": 13.4,
            }
            assert event["id"] == "e1" and event["client_ip"] == ip


def test_country_db_adds_only_what_it_knows(country_db: Path) -> None:
    with Enricher(country_db) as enricher:
        event = enricher.enrich({"client_ip": BERLIN_IP})
    assert event["geoip"] == {"country_code": "DE", "continent_code": "EU"}


def test_cached_result_is_not_shared_between_events(city_db: Path) -> None:
    with Enricher(city_db) as enricher:
        first = enricher.enrich({"client_ip": BERLIN_IP})
        first["geoip"]["country_code"] = "XX"
        second = enricher.enrich({"client_ip": BERLIN_IP})
    assert second["geoip"]["country_code"] == "DE"


@pytest.mark.parametrize("existing", [
    {"timezone": "America/Denver", "country_code2": "US", "region_code": "CO"},
    {},
    None,
])
def test_existing_geoip_never_overwritten(city_db: Path, existing: Any) -> None:
    event = {"client_ip": BERLIN_IP, "geoip": copy.deepcopy(existing)}
    with Enricher(city_db) as enricher:
        enricher.enrich(event)
    assert event == {"client_ip": BERLIN_IP, "geoip": existing}


@pytest.mark.parametrize("ip", [PRIVATE_IP, "8.8.8.8", "::1", "not-an-ip", "", None, 12345])
def test_private_unknown_or_invalid_ip_gets_no_geoip(city_db: Path, ip: Any) -> None:
    with Enricher(city_db) as enricher:
        event = enricher.enrich({"client_ip": ip})
    assert event == {"client_ip": ip}


def test_event_without_client_ip_untouched(city_db: Path) -> None:
    with Enricher(city_db) as enricher:
        assert enricher.enrich({"id": "x"}) == {"id": "x"}


@pytest.mark.parametrize("db", [None, "missing"])
def test_missing_db_passes_events_through_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, db: str | None
) -> None:
    caplog.set_level(logging.INFO, logger="insightgraph.enrich")
    enricher = Enricher(None if db is None else tmp_path / "missing.mmdb")
    events = [{"id": str(i), "client_ip": BERLIN_IP, "useragent": UA_OBJECT} for i in range(100)]
    expected = copy.deepcopy(events)
    for event in events:
        enricher.enrich(event)
    enricher.close()
    assert events == expected
    records = [r for r in caplog.records if r.name == "insightgraph.enrich"]
    assert len(records) == 1
    assert "GeoIP enrichment is off" in records[0].getMessage()


def test_unusable_db_file_turns_geoip_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bogus = tmp_path / "bogus.mmdb"
    bogus.write_bytes(b"not a maxmind database")
    asn = _write_db(tmp_path / "asn.mmdb", "GeoLite2-ASN", {"autonomous_system_number": 1})
    for path in (bogus, asn):
        with Enricher(path) as enricher:
            assert enricher.enrich({"client_ip": BERLIN_IP}) == {"client_ip": BERLIN_IP}
    assert sum("GeoIP enrichment is off" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("key", ["useragent", "user_agent"])
def test_raw_ua_string_becomes_structured_object(key: str) -> None:
    enricher = Enricher(None)
    chrome = enricher.enrich({key: CHROME_MAC})
    firefox = enricher.enrich({key: FIREFOX_WIN})
    assert chrome == {key: {
        "name": "Chrome", "major": "120", "minor": "0", "patch": "6099",
        "os": "Mac OS X", "os_name": "Mac OS X", "os_major": "10", "os_minor": "15",
        "device": "Mac", "raw": CHROME_MAC,
    }}
    assert firefox == {key: {
        "name": "Firefox", "major": "121", "minor": "0", "patch": "",
        "os": "Windows", "os_name": "Windows", "os_major": "10", "os_minor": "",
        "device": "Other", "raw": FIREFOX_WIN,
    }}


def test_cached_ua_is_not_shared_between_events() -> None:
    enricher = Enricher(None)
    first = enricher.enrich({"useragent": CHROME_MAC})
    first["useragent"]["name"] = "changed"
    assert enricher.enrich({"useragent": CHROME_MAC})["useragent"]["name"] == "Chrome"


@pytest.mark.parametrize("key", ["useragent", "user_agent"])
def test_existing_ua_object_untouched(key: str) -> None:
    event = {key: copy.deepcopy(UA_OBJECT)}
    Enricher(None).enrich(event)
    assert event == {key: UA_OBJECT}


def test_both_spellings_and_blank_ua() -> None:
    event = {"useragent": UA_OBJECT, "user_agent": FIREFOX_WIN}
    Enricher(None).enrich(event)
    assert event["useragent"] is UA_OBJECT
    assert event["user_agent"]["name"] == "Firefox"
    assert Enricher(None).enrich({"useragent": ""}) == {"useragent": ""}


def test_real_sample_events_gain_nothing_they_already_have(city_db: Path) -> None:
    import json
    sample = Path("/work/shared/reference/events/directory-insights-sample.jsonl")
    if not sample.exists():
        pytest.skip("reference sample not available")
    events = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    with Enricher(city_db) as enricher:
        for event in events:
            before = copy.deepcopy(event)
            enricher.enrich(event)
            # Nothing existing is changed or dropped; only missing keys may appear.
            assert {k: event[k] for k in before} == before
