"""`insightgraph sync` against a vendor-like API (tests/vendor_api.py) and against another insightgraph, into the
real test Neo4j: paging and ties, retries, late events, several organizations, crash and resume, two collectors,
follow mode and `serve --sync`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from app.model.times import format_ms
from app.settings import Settings
from app.sync.client import retry_after_seconds
from app.sync.collector import Collector, now_ms
from app.sync.service import build, pipelines
from app.model.times import parse_duration_ms, parse_since_ms
from graph import sync_state
from graph.db import Database
from graph.managed import ManagedNeo4j
from tests.conftest import ingest, make_key, new_org, sample_events
from tests.vendor_api import Fault, Serving, VendorAPI, free_port

ROOT = Path(__file__).resolve().parents[1]
KEY = "vendor-key-7f3a9c"  # must never show up in any output


def make_events(org: str, n: int, start_ms: int, step_ms: int = 60_000, tie_every: int = 0,
                prefix: str = "ev") -> list[dict[str, Any]]:
    """`n` directory events from `start_ms`, `step_ms` apart; with `tie_every`, groups of that many share one ms."""
    out = []
    for i in range(n):
        slot = i // tie_every if tie_every else i
        out.append({
            "id": f"{prefix}{i:06d}{org[:6]}", "organization": org, "event_type": "user_login_attempt",
            "service": "directory", "timestamp": format_ms(start_ms + slot * step_ms), "@version": "1",
            "success": i % 3 != 0, "mfa": False, "client_ip": f"10.0.{i % 250}.{i % 200}",
            "initiated_by": {"id": f"u{i % 7}{org[:6]}", "type": "user", "username": f"user{i % 7}"},
            "resource": {"id": f"u{i % 7}{org[:6]}", "type": "user", "username": f"user{i % 7}"},
        })
    return out


def stored(db: Database, org: str) -> dict[str, str]:
    rows = db.read("MATCH (e:Event {organization: $org}) RETURN e.id AS id, e.raw AS raw", org=org)
    assert len(rows) == len({r["id"] for r in rows})
    return {r["id"]: r["raw"] for r in rows}


def collector(db: Database, url: str, orgs: list[str], since: str = "3650d", lag: str = "10m",
              page_size: int = 10_000, rate: float = 1000.0, follow: bool = False, interval: float = 1.0,
              key: str = KEY) -> Collector:
    settings = Settings(sync_api_key=key, sync_lease_seconds=5, batch_size=100)
    client, config = build(settings, source=url, orgs=orgs, since=since, lag=lag, rate=rate, follow=follow,
                           interval=interval, page_size=page_size)
    config.lease_poll = 0.2
    make, _ = pipelines(settings, db)
    return Collector(db, client, config, make)


def run_once(db: Database, url: str, orgs: list[str], **kw: Any) -> list[Any]:
    c = collector(db, url, orgs, **kw)
    try:
        return c.run()
    finally:
        c.close()
        c.client.close()


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "INSIGHTGRAPH_SYNC_API_KEY": KEY,
            "INSIGHTGRAPH_SYNC_LEASE_SECONDS": "6", **extra}


SPAWNED: list[subprocess.Popen] = []


def sync_cli(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen:
    popen.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "sync", *args], env=env or cli_env(), cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, start_new_session=True, **popen)
    SPAWNED.append(proc)
    return proc


@pytest.fixture(autouse=True)
def _no_leftovers() -> Iterator[None]:
    """A failed test must not leave a collector running: kill what it started, by pid."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture
def vendor() -> Iterator[tuple[VendorAPI, str]]:
    api = VendorAPI({KEY: []})
    with Serving(api.app) as srv:
        yield api, srv.url


def serve_orgs(api: VendorAPI, *orgs: str) -> None:
    api.keys[KEY] = list(orgs)


# --- paging -------------------------------------------------------------------------------------------------------
def test_ties_across_page_edges_and_several_orgs_behind_one_key(db: Database, vendor: Any) -> None:
    """Pages capped at 4 by the server (X-Limit 4 although 10,000 were asked for), with runs of 5-7 events on one
    millisecond straddling every page edge, in two organizations read with one key: every event once, verbatim."""
    api, url = vendor
    a, b = new_org(), new_org()
    serve_orgs(api, a, b)
    api.max_limit = 4
    start = now_ms() - 3 * 86_400_000
    events_a = make_events(a, 61, start, tie_every=7)
    events_b = make_events(b, 40, start, tie_every=5) + make_events(b, 4, start + 10**7, prefix="x")  # a full last page
    api.add(events_a + events_b)

    results = run_once(db, url, [a, b])

    assert [r.error for r in results] == [None, None]
    assert all(r.caught_up for r in results)
    for org, events in ((a, events_a), (b, events_b)):
        got = stored(db, org)
        assert set(got) == {e["id"] for e in events}
        assert all(json.loads(got[e["id"]]) == e for e in events)
        pages = [r for r in api.log if r.path == "/events" and r.org == org]
        assert len(pages) == len(events) // 4 + 1  # stops at the first page with X-Result-Count < X-Limit
        assert pages[-1].count < 4
    assert api.bad_windows == []

    again = run_once(db, url, [a, b])  # resumes: only the lag window is re-read, nothing new
    assert [r.summary.accepted for r in again] == [0, 0]
    assert api.served() == len(events_a) + len(events_b)  # events are days old: outside the 10 minute lag


def test_checkpoint_is_per_organization_and_moves_to_the_window_end(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 5, now_ms() - 3_600_000))
    before = now_ms()
    run_once(db, url, [a])
    cp = sync_state.checkpoint(db, url, a)
    assert cp is not None and before <= cp <= now_ms()
    assert sync_state.checkpoint(db, url, new_org()) is None


def test_without_org_the_key_s_own_organization_is_pulled(db: Database, vendor: Any) -> None:
    """No --org: no x-org-id is sent, and the checkpoint is kept for the key's own organization."""
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    events = make_events(a, 12, now_ms() - 3_600_000)
    api.add(events)
    results = run_once(db, url, [])
    assert results[0].error is None and results[0].summary.accepted == 12
    assert set(stored(db, a)) == {e["id"] for e in events}
    assert all(r.org is None for r in api.log)
    assert sync_state.checkpoint(db, url, "") is not None


# --- failures -----------------------------------------------------------------------------------------------------
def test_429_with_retry_after_and_503s_are_retried(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    events = make_events(a, 30, now_ms() - 86_400_000)
    api.add(events)
    api.max_limit = 10
    api.faults = [Fault(429, {"Retry-After": "1"}, "Too Many Requests"), Fault(503), Fault(503, {"Retry-After": "0"})]

    results = run_once(db, url, [a])

    assert results[0].error is None and results[0].caught_up
    assert set(stored(db, a)) == {e["id"] for e in events}
    statuses = [r.status for r in api.log if r.path == "/events"]
    assert statuses[:4] == [429, 503, 503, 200]
    first, retried = api.log[0], api.log[1]
    assert retried.at - first.at >= 1.0  # Retry-After was honoured
    assert retried.body == first.body  # the same request, not a later window


def test_a_4xx_stops_with_one_line_naming_the_request_and_never_the_key(db: Database, vendor: Any,
                                                                         tmp_path: Path) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 3, now_ms() - 86_400_000))
    api.faults = [Fault(503), Fault(403, {}, "Forbidden: this key may not read events")]
    env = {k: v for k, v in cli_env().items() if k != "INSIGHTGRAPH_SYNC_API_KEY"}
    missing = sync_cli("--source", url, "--org", a, env=env)
    out, err = missing.communicate(timeout=120)
    assert missing.returncode == 2 and "INSIGHTGRAPH_SYNC_API_KEY" in err and "--api-key-file" in err
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    proc = sync_cli("--source", url, "--org", a, "--api-key-file", str(key_file), env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "POST /insights/directory/v1/events" in errors[0] and "403" in errors[0] and a in errors[0]
    assert KEY not in out + err
    status = subprocess.run([sys.executable, "-m", "app.cli", "sync", "status"], env=cli_env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    line = next(ln for ln in status.stdout.splitlines() if a in ln)
    assert "403" in line and "no checkpoint yet" in line


def test_progress_bar_on_a_terminal_with_the_total_from_count(db: Database, vendor: Any) -> None:
    import fcntl
    import pty
    import struct
    import termios

    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 250, now_ms() - 86_400_000))
    api.max_limit = 100
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal 120 columns wide
    try:
        proc = sync_cli("--source", url, "--org", a, stderr=slave)
        out, _ = proc.communicate(timeout=120)
        os.close(slave)
        slave = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0
    assert [r.path for r in api.log][0] == "/events/count"  # the bar's total
    assert b"250/250" in drawn and b"events" in drawn
    assert "pulled 250 events" in out


def test_never_sends_end_before_start(db: Database, vendor: Any) -> None:
    """--since in the future, or a checkpoint ahead of this machine's clock: nothing is asked, exit 0."""
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    future = format_ms(now_ms() + 86_400_000)
    results = run_once(db, url, [a], since=future)
    assert results[0].caught_up and results[0].error is None
    assert [r for r in api.log if r.path == "/events"] == [] and api.bad_windows == []


def test_rate_cap_spaces_requests(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.max_limit = 2
    api.add(make_events(a, 9, now_ms() - 86_400_000))
    run_once(db, url, [a], rate=5.0)
    times = [r.at for r in api.log]
    assert len(times) == 5
    assert times[-1] - times[0] >= 4 * 0.2 - 0.05  # at most 5 per second


# --- late events --------------------------------------------------------------------------------------------------
def test_late_events_within_the_lag_are_caught(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 10, now_ms() - 7_200_000))
    run_once(db, url, [a], lag="10m")
    cp = sync_state.checkpoint(db, url, a)
    late = make_events(a, 1, cp - 5 * 60_000, prefix="late")  # published after the poll that covered its time
    too_late = make_events(a, 1, cp - 30 * 60_000, prefix="old")  # beyond the lag: the documented limit
    api.add(late + too_late)
    results = run_once(db, url, [a], lag="10m")
    assert results[0].summary.accepted == 1
    got = stored(db, a)
    assert late[0]["id"] in got and too_late[0]["id"] not in got
    assert len(got) == 11


# --- crash, concurrency, follow ------------------------------------------------------------------------------------
def test_sigkill_mid_sync_then_resume_stores_every_event_once(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    total = 1500
    api.add(make_events(a, total, now_ms() - 5 * 86_400_000, step_ms=60_000, tie_every=3))
    api.max_limit, api.delay = 50, 0.05
    proc = sync_cli("--source", url, "--org", a, "--batch-size", "50")
    deadline = time.monotonic() + 120
    while len(stored(db, a)) < 400:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # our own child, by its pid
    proc.communicate(timeout=30)
    cp = sync_state.checkpoint(db, url, a)
    assert cp is not None  # it had advanced past committed pages
    before = len(stored(db, a))
    assert before < total
    served_before = api.served()

    rerun = sync_cli("--source", url, "--org", a, "--batch-size", "50")  # takes over the dead holder's lease
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    got = stored(db, a)
    assert len(got) == total
    assert f"accepted {total - before}," in out
    assert api.served() - served_before < total - before + 200  # resumed near where it died, not from scratch


def test_two_concurrent_syncs_pull_once(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    total = 600
    api.add(make_events(a, total, now_ms() - 5 * 86_400_000))
    api.max_limit, api.delay = 100, 0.3
    procs = [sync_cli("--source", url, "--org", a) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len(stored(db, a)) == total
    assert api.served() == total  # one pulled the backfill; the other waited, then found nothing new
    accepted = sorted(int(o.split("accepted ")[1].split(",")[0]) for o, _ in outs)
    assert accepted == [0, total]


def test_follow_keeps_pulling_and_stops_cleanly_on_sigterm(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 20, now_ms() - 3_600_000))
    proc = sync_cli("--source", url, "--org", a, "--follow", "--interval", "0.5")
    deadline = time.monotonic() + 90
    while len(stored(db, a)) < 20:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    fresh = make_events(a, 3, now_ms() - 1000, step_ms=10, prefix="new")
    api.add(fresh)
    while len(stored(db, a)) < 23:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "accepted 23," in out
    assert not any(s.lease_holder for s in sync_state.all_status(db) if s.organization == a)  # released


def lease_holder(db: Database, url: str, org: str) -> str | None:
    return next((s.lease_holder for s in sync_state.all_status(db) if s.source == url and s.organization == org),
                None)


def test_a_standby_follower_takes_over_when_the_holder_dies(db: Database, vendor: Any) -> None:
    """Two `sync --follow` (think two `serve --sync` replicas): one pulls, the other stands by; SIGKILL the puller
    and the standby takes its lease over once it expires, and new events keep flowing in."""
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 30, now_ms() - 3_600_000))
    first = sync_cli("--source", url, "--org", a, "--follow", "--interval", "0.5")
    deadline = time.monotonic() + 90
    while len(stored(db, a)) < 30:
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    second = sync_cli("--source", url, "--org", a, "--follow", "--interval", "0.5")
    time.sleep(3)  # several of its polls: it must stand by
    assert second.poll() is None
    assert f":{first.pid}:" in (lease_holder(db, url, a) or "")
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    fresh = make_events(a, 4, now_ms() - 1000, step_ms=10, prefix="after")
    api.add(fresh)
    while len(stored(db, a)) < 34:
        assert second.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    assert f":{second.pid}:" in (lease_holder(db, url, a) or "")
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "accepted 4," in out  # it pulled only what the dead holder had not


def test_serve_sync_runs_the_follow_loop_in_the_service(db: Database, vendor: Any) -> None:
    api, url = vendor
    a = new_org()
    serve_orgs(api, a)
    api.add(make_events(a, 25, now_ms() - 3_600_000))
    port = free_port()
    env = cli_env(INSIGHTGRAPH_SYNC_SOURCE=url, INSIGHTGRAPH_SYNC_ORGS=a, INSIGHTGRAPH_SYNC_INTERVAL="0.5",
                  INSIGHTGRAPH_SYNC_SINCE="1d")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--sync", "--port", str(port),
                             "--shutdown-timeout", "5"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    SPAWNED.append(proc)
    try:
        deadline = time.monotonic() + 90
        while len(stored(db, a)) < 25:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        lag = [ln for ln in metrics.splitlines() if ln.startswith("insightgraph_sync_lag_seconds") and a in ln]
        assert lag and float(lag[0].split()[-1]) < 3600
        events = [ln for ln in metrics.splitlines() if ln.startswith("insightgraph_sync_events_total")
                  and f'organization="{a}"' in ln and 'outcome="accepted"' in ln]
        assert events and float(events[0].split()[-1]) == 25
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert '"sync stopped"' in err and KEY not in err


# --- insightgraph -> insightgraph ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def second_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    """A second, private Neo4j (sharing the resolved jars) to sync into."""
    home = tmp_path_factory.mktemp("neo4j-sync-target")
    shared = Settings().home / "neo4j"
    (home / "neo4j").mkdir()
    for part in ("lib", "classes"):
        if (shared / part).exists():
            (home / "neo4j" / part).symlink_to(shared / part)
    neo = ManagedNeo4j(home, free_port(), heap="384m", pagecache="128m")
    neo.start()
    target = Database(neo.uri, retry_seconds=5)
    try:
        yield neo.uri, target
    finally:
        target.close()
        neo.stop()


def test_insightgraph_to_insightgraph_copies_every_event_verbatim(db: Database, settings: Settings,
                                                                   second_neo4j: tuple[str, Database]) -> None:
    """Sync one instance's REST API (our own server) into a second Neo4j: every event's stored raw JSON equal."""
    from app.ingest.demo import generate
    from app.server import create_app

    uri, target = second_neo4j
    a = new_org()
    events = sample_events(a) + list(generate(users=15, days=10, events=2500, seed=7, organization=a))
    assert not ingest(db, events).rejected
    key = make_key(db, a)
    with Serving(create_app(settings, db)) as source:
        proc = subprocess.run([sys.executable, "-m", "app.cli", "sync", "--source", source.url, "--org", a,
                               "--since", "3650d"], env=cli_env(INSIGHTGRAPH_NEO4J_URI=uri,
                                                               INSIGHTGRAPH_SYNC_API_KEY=key),
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    want, got = stored(db, a), stored(target, a)
    assert len(got) == len(want) == len({e["id"] for e in events})
    assert got == want
    assert key not in proc.stdout + proc.stderr


# --- small pieces -------------------------------------------------------------------------------------------------
def test_durations_instants_and_retry_after() -> None:
    assert parse_duration_ms("10m") == 600_000 and parse_duration_ms("90d") == 90 * 86_400_000
    assert parse_since_ms("2020-05-14T00:00:00Z") == 1589414400000
    assert parse_since_ms("1h", now=10_000_000) == 10_000_000 - 3_600_000
    with pytest.raises(ValueError):
        parse_since_ms("yesterday")
    assert retry_after_seconds("7") == 7.0
    assert 0 < retry_after_seconds(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))) <= 31
    assert retry_after_seconds("soon") is None


def test_lease_one_holder_with_expiry_and_takeover(db: Database) -> None:
    src, org = "http://lease.test", new_org()
    sync_state.ensure_sync_schema(db)
    first = sync_state.acquire(db, src, org, "a", 1500)
    second = sync_state.acquire(db, src, org, "b", 1500)
    assert first.acquired and not second.acquired and second.holder == "a"
    with pytest.raises(sync_state.LeaseLost):
        sync_state.advance(db, src, org, "b", 123, 1, 1500)  # only the holder moves the checkpoint
    time.sleep(1.6)  # "a" died without releasing
    assert sync_state.acquire(db, src, org, "b", 1500).acquired
    assert not sync_state.renew(db, src, org, "a", 1500)
    assert sync_state.advance(db, src, org, "b", 123, 1, 1500) == 123
    assert sync_state.advance(db, src, org, "b", 100, 1, 1500) == 123  # never backwards


def test_racing_acquirers_get_one_lease(db: Database) -> None:
    src, org = "http://race.test", new_org()
    sync_state.ensure_sync_schema(db)
    won: list[str] = []
    barrier = threading.Barrier(6)

    def take(name: str) -> None:
        barrier.wait()
        if sync_state.acquire(db, src, org, name, 60_000).acquired:
            won.append(name)

    threads = [threading.Thread(target=take, args=(f"h{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
