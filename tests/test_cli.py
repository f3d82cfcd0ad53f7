"""The `insightgraph` command as a person meets it: exit codes, one-line errors without tracebacks, ingest summaries
with line numbers, idempotent re-runs, stdin, and enrichment on the way in. In-process through click's CliRunner,
and as a real process where exit codes and stderr must be the operating system's own.

The Neo4j is the suite's (whatever Settings() points at); no test starts a second managed one. Every test writes
into an organization of its own."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner, Result

from app.cli import main
from app.model.jsonutil import loads
from app.settings import Settings
from tests.conftest import sample_events
from tests.test_enrich import BERLIN_IP, CHROME_MAC, CITY_RECORD, _write_db

ROOT = Path(__file__).resolve().parents[1]


# --- helpers ---------------------------------------------------------------------------------------------------
def cli(*args: str, env: dict[str, str | None] | None = None, input: bytes | str | None = None) -> Result:
    """Run the command in-process. CliRunner turns sys.exit into exit_code; any other exception is a failure."""
    return CliRunner().invoke(main, list(args), env=env, input=input)


def run(*args: str, env: dict[str, str | None] | None = None, input: bytes | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `python -m app.cli` as its own process, with the test environment plus `env` (None unsets)."""
    full = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=input, capture_output=True, cwd=ROOT,
                          env=full, timeout=timeout)  # type: ignore[call-overload]


def decoded(proc: subprocess.CompletedProcess[Any]) -> tuple[str, str]:
    out, err = proc.stdout, proc.stderr
    return (out.decode() if isinstance(out, bytes) else out), (err.decode() if isinstance(err, bytes) else err)


def one_line(text: str, *needles: str) -> str:
    """Exactly one non-blank line, no traceback, mentioning every needle."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert "Traceback" not in text, text
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def no_exception(result: Result) -> None:
    """Only a deliberate exit: the command never let an exception escape."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert "Traceback" not in result.output


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str | None]:
    """Settings for a managed Neo4j that is not running: an empty home and a free port."""
    return {"INSIGHTGRAPH_HOME": str(tmp_path / "home"), "INSIGHTGRAPH_NEO4J_PORT": str(free_port()),
            "INSIGHTGRAPH_NEO4J_URI": None}


@pytest.fixture
def listener() -> Iterator[int]:
    """A port held by something that is not Neo4j (it accepts connections and never speaks Bolt)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    """Events (dicts, dumped) and raw text lines (str, written as they are)."""
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


def count_events(db: Any, org: str) -> int:
    return db.read("MATCH (e:Event {organization: $org}) RETURN count(e) AS n", org=org)[0]["n"]


def stored_raw(db: Any, org: str) -> dict[str, dict[str, Any]]:
    rows = db.read("MATCH (e:Event {organization: $org}) RETURN e.id AS id, e.raw AS raw", org=org)
    return {r["id"]: loads(r["raw"]) for r in rows}


# --- neo4j status / start --------------------------------------------------------------------------------------
def test_status_exit_0_while_running(db: Any, settings: Settings) -> None:
    if not settings.managed:
        pytest.skip("the suite runs against an external Neo4j (INSIGHTGRAPH_NEO4J_URI); `status` is about the managed one")
    result = cli("neo4j", "status")
    no_exception(result)
    assert result.exit_code == 0, result.output
    one_line(result.output, "Neo4j is running at", f"bolt://127.0.0.1:{settings.neo4j_port}")
    proc = run("neo4j", "status")
    assert proc.returncode == 0, decoded(proc)


def test_status_nonzero_where_nothing_runs(elsewhere: dict[str, str | None]) -> None:
    result = cli("neo4j", "status", env=elsewhere)
    no_exception(result)
    assert result.exit_code != 0
    one_line(result.output, "not answering", f"bolt://127.0.0.1:{elsewhere['INSIGHTGRAPH_NEO4J_PORT']}")
    proc = run("neo4j", "status", env=elsewhere)
    out, err = decoded(proc)
    assert proc.returncode != 0
    one_line(out + err, "not answering")


def test_start_on_a_taken_port_is_one_clear_line(tmp_path: Path, listener: int) -> None:
    env = {"INSIGHTGRAPH_HOME": str(tmp_path / "home"), "INSIGHTGRAPH_NEO4J_PORT": str(listener),
           "INSIGHTGRAPH_NEO4J_URI": None}
    result = cli("neo4j", "start", env=env)
    no_exception(result)
    assert result.exit_code != 0
    assert result.stdout == ""
    one_line(result.stderr, "error:", f"port {listener}", "already taken", "INSIGHTGRAPH_NEO4J_PORT")
    assert not (tmp_path / "home" / "neo4j" / "neo4j.pid").exists()  # nothing was launched

    proc = run("neo4j", "start", env=env)
    out, err = decoded(proc)
    assert proc.returncode != 0
    assert out == ""
    one_line(err, f"port {listener}", "already taken")


def test_stop_where_nothing_runs(elsewhere: dict[str, str | None]) -> None:
    result = cli("neo4j", "stop", env=elsewhere)
    no_exception(result)
    assert result.exit_code == 0
    one_line(result.output, "not running")


# --- configuration and connection errors -----------------------------------------------------------------------
def test_ingest_unreachable_uri_is_one_line_naming_it(tmp_path: Path) -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    path = write_jsonl(tmp_path / "events.jsonl", sample_events("0" * 24)[:2])
    result = cli("ingest", str(path), env={"INSIGHTGRAPH_NEO4J_URI": uri})
    no_exception(result)
    assert result.exit_code != 0
    one_line(result.stderr, "error:", uri, "cannot reach Neo4j")

    proc = run("ingest", str(path), env={"INSIGHTGRAPH_NEO4J_URI": uri})
    out, err = decoded(proc)
    assert proc.returncode != 0
    assert out == ""
    one_line(err, uri)


@pytest.mark.slow  # the driver gives a silent peer its 30 s connection-acquisition timeout
def test_ingest_uri_that_is_no_bolt_server(tmp_path: Path, listener: int) -> None:
    """Something listens but never answers the Bolt handshake: an error naming the URI, not a hang or traceback."""
    uri = f"bolt://127.0.0.1:{listener}"
    path = write_jsonl(tmp_path / "events.jsonl", sample_events("0" * 24)[:1])
    proc = run("ingest", str(path), env={"INSIGHTGRAPH_NEO4J_URI": uri}, timeout=180)
    out, err = decoded(proc)
    assert proc.returncode != 0
    one_line(err, uri)


def test_malformed_uri_is_one_line(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", sample_events("0" * 24)[:1])
    result = cli("ingest", str(path), env={"INSIGHTGRAPH_NEO4J_URI": "localhost:7687"})
    no_exception(result)
    assert result.exit_code != 0
    one_line(result.stderr, "error:", "localhost:7687")


def test_invalid_setting_is_one_line(elsewhere: dict[str, str | None]) -> None:
    result = cli("neo4j", "status", env={**elsewhere, "INSIGHTGRAPH_NEO4J_PORT": "seven"})
    no_exception(result)
    assert result.exit_code != 0
    one_line(result.stderr, "INSIGHTGRAPH_NEO4J_PORT", "seven")


def test_ingest_missing_file(tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope.jsonl"))
    no_exception(result)
    assert result.exit_code != 0
    one_line(result.stderr, "cannot read", "nope.jsonl")


# --- ingest ----------------------------------------------------------------------------------------------------
def test_ingest_good_and_bad_lines(db: Any, org: str, tmp_path: Path) -> None:
    good = sample_events(org)
    no_id = copy.deepcopy(good[5])
    del no_id["id"]
    bad_time = copy.deepcopy(good[6]) | {"id": "bad-time", "timestamp": "yesterday"}
    bad_service = copy.deepcopy(good[6]) | {"id": "bad-service", "service": "telepathy"}
    lines: list[Any] = [
        good[0],                         # line 1
        '{"id": "broken", "organiz',     # line 2: not JSON
        good[1],                         # line 3
        "",                              # line 4: blank, skipped silently
        no_id,                           # line 5
        bad_time,                        # line 6
        good[2],                         # line 7
        "[1, 2]",                        # line 8: JSON, not an event
        bad_service,                     # line 9
        good[3],                         # line 10
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)
    result = cli("ingest", str(path))
    no_exception(result)
    assert result.exit_code == 2, result.output
    assert result.stdout.strip() == "accepted 4, already present 0, rejected 5"
    rejected = result.stderr.splitlines()
    assert [ln.split(":")[0].strip() for ln in rejected] == [
        "rejected line 2", "rejected line 5", "rejected line 6", "rejected line 8", "rejected line 9"]
    assert "invalid JSON" in rejected[0]
    assert "id" in rejected[1] and "required" in rejected[1]
    assert "timestamp" in rejected[2] and "yesterday" in rejected[2]
    assert "must be a JSON object" in rejected[3]
    assert "service" in rejected[4] and "telepathy" in rejected[4]

    stored = stored_raw(db, org)
    assert set(stored) == {good[i]["id"] for i in range(4)}
    assert stored[good[0]["id"]] == good[0]  # verbatim


def test_ingest_twice_second_run_all_duplicates(db: Any, org: str, tmp_path: Path) -> None:
    events = sample_events(org)
    path = write_jsonl(tmp_path / "sample.jsonl", events)
    first = cli("ingest", str(path))
    no_exception(first)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"accepted {len(events)}, already present 0, rejected 0"
    second = cli("ingest", "--batch-size", "5", str(path))
    no_exception(second)
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == f"accepted 0, already present {len(events)}, rejected 0"
    assert second.stderr == ""
    assert count_events(db, org) == len(events)


def test_ingest_from_stdin_jsonl(db: Any, org: str) -> None:
    events = sample_events(org)
    data = "".join(json.dumps(ev) + "\n" for ev in events).encode()
    result = cli("ingest", "-", input=data)
    no_exception(result)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"accepted {len(events)}, already present 0, rejected 0"
    assert count_events(db, org) == len(events)


def test_ingest_from_stdin_json_array_as_a_process(db: Any, org: str) -> None:
    events = sample_events(org)
    proc = run("ingest", "-", input=json.dumps(events[:6]).encode())
    out, err = decoded(proc)
    assert proc.returncode == 0, (out, err)
    assert out.strip() == "accepted 6, already present 0, rejected 0"
    assert "Traceback" not in err
    # the rest, plus one duplicate and one bad element, from a second run: indexes name the bad one
    bad = copy.deepcopy(events[7]) | {"id": "no-such-service", "service": "nope"}
    proc = run("ingest", "-", input=json.dumps([events[5], *events[6:], bad]).encode())
    out, err = decoded(proc)
    assert proc.returncode == 2, (out, err)
    assert out.strip() == f"accepted {len(events) - 6}, already present 1, rejected 1"
    one_line(err, "rejected index", str(len(events) - 6 + 1), "service")
    assert count_events(db, org) == len(events)


# --- enrichment through ingest ---------------------------------------------------------------------------------
@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return _write_db(tmp_path / "city.mmdb", "GeoIP2-City", CITY_RECORD)


BERLIN_GEO = {"country_code": "DE", "continent_code": "EU", "region_code": "BE", "region_name": "Berlin",
              "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4}


def _enrichment_events(org: str) -> list[dict[str, Any]]:
    base = sample_events(org)[5]  # a user_login_attempt with geoip and a parsed user_agent
    bare = copy.deepcopy(base) | {"id": "needs-geoip", "client_ip": BERLIN_IP, "useragent": CHROME_MAC}
    del bare["geoip"], bare["user_agent"]
    vendor_geo = {"timezone": "America/Denver", "country_code2": "US", "region_code": "CO"}
    has_geo = copy.deepcopy(base) | {"id": "has-geoip", "client_ip": BERLIN_IP, "geoip": vendor_geo}
    private = copy.deepcopy(base) | {"id": "private-ip", "client_ip": "10.20.0.14"}
    del private["geoip"]
    return [bare, has_geo, private]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_ingest_enriches(db: Any, org: str, tmp_path: Path, city_db: Path, how: str) -> None:
    events = _enrichment_events(org)
    path = write_jsonl(tmp_path / "enrich.jsonl", events)
    if how == "flag":
        result = cli("--geoip-db", str(city_db), "ingest", str(path))
    else:
        result = cli("ingest", str(path), env={"INSIGHTGRAPH_GEOIP_DB": str(city_db)})
    no_exception(result)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "accepted 3, already present 0, rejected 0"

    stored = stored_raw(db, org)
    bare = stored["needs-geoip"]
    assert bare["geoip"] == BERLIN_GEO  # added from the database
    assert bare["useragent"] == {  # a raw header became JumpCloud's structured shape, keeping the original
        "name": "Chrome", "major": "120", "minor": "0", "patch": "6099", "os": "Mac OS X", "os_name": "Mac OS X",
        "os_major": "10", "os_minor": "15", "device": "Mac", "raw": CHROME_MAC}
    assert stored["has-geoip"]["geoip"] == events[1]["geoip"]  # the vendor's geoip is never overwritten
    assert stored["has-geoip"]["user_agent"] == events[1]["user_agent"]  # nor its parsed user agent
    assert "geoip" not in stored["private-ip"]  # nothing known about a private address: nothing added

    # the enriched values are searchable like vendor ones
    keys = {r["id"]: r for r in db.read(
        "MATCH (e:Event {organization: $org}) RETURN e.id AS id, e.f_geoip_country_code AS cc, "
        "e.f_useragent_name AS ua", org=org)}
    assert keys["needs-geoip"]["cc"] == "de" and keys["needs-geoip"]["ua"] == "chrome"
    assert keys["has-geoip"]["cc"] == "us"


def test_ingest_without_geoip_db_still_parses_user_agents(db: Any, org: str, tmp_path: Path) -> None:
    events = _enrichment_events(org)
    path = write_jsonl(tmp_path / "enrich.jsonl", events)
    result = cli("ingest", str(path), env={"INSIGHTGRAPH_GEOIP_DB": str(tmp_path / "missing.mmdb")})
    no_exception(result)
    assert result.exit_code == 0, result.output
    stored = stored_raw(db, org)
    assert "geoip" not in stored["needs-geoip"]
    assert stored["needs-geoip"]["useragent"]["name"] == "Chrome"
