"""The investigator console in a real browser (issue 12): headless Chromium (Debian's package) driven by
Playwright, against the app served by uvicorn on a loopback port and a real Neo4j.

Every page runs with every request that leaves the server blocked and recorded: the test fails if any page of
ours asked another host for anything. Data: the shared sample story (slucero joins Engineering, which grants
GitHub and build-01, and is removed on 2020-06-20) and a small generated demo history for the investigations.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pytest

from tests.conftest import BUILD01, ENGINEERING, GITHUB, SLUCERO, ingest, make_key, new_org, sample_events

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed "
                                "(apt-get install -y chromium); the console's browser tests need it")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

# Screenshots of the main views: into docs/ (the README shows one) only when asked, so a test run leaves the
# checkout clean: INSIGHTGRAPH_SCREENSHOTS=docs python -m pytest tests/test_console.py
DOCS = Path(__file__).resolve().parents[1] / "docs" if os.environ.get("INSIGHTGRAPH_SCREENSHOTS") == "docs" \
    else Path(tempfile.gettempdir()) / "insightgraph-console-screenshots"
JOINED = "2020-06-10T00:00:00Z"
REMOVED = "2020-06-21T00:00:00Z"


class Server:
    """The app on a free loopback port, served by uvicorn in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws="auto", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def stories(db: Any) -> dict[str, str]:
    """Two organizations of data and keys: the sample story, a demo history, and a key of a third (empty) one."""
    from app.ingest.demo import generate

    sample, demo, other = new_org(), new_org(), new_org()
    ingest(db, sample_events(sample))
    ingest(db, list(generate(users=25, days=20, events=2500, seed=3, organization=demo)))
    return {"sample": sample, "demo": demo, "other": other, "sample_key": make_key(db, sample),
            "both_key": make_key(db, sample, demo), "other_key": make_key(db, other)}


@pytest.fixture(scope="module")
def server(settings: Any, db: Any) -> Iterator[Server]:
    from app.server import create_app

    with Server(create_app(settings, db)) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


class Page:
    """A browser tab at 1280 px whose requests to anything but our server are blocked and recorded."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                           service_workers="block")
        self.leaked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.set_default_timeout(20_000)

    def _route(self, route: Any) -> None:
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1" and url.port == self.server.port:
            route.continue_()
        else:
            self.leaked.append(route.request.url)
            route.abort()

    def goto(self, path: str) -> Any:
        self.page.goto(self.server.base + path)
        return self.page

    def sign_in(self, key: str, org: str | None = None, path: str = "/") -> Any:
        self.goto(path)
        self.page.fill("input[name=key]", key)
        if org:
            self.page.fill("input[name=org]", org)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("header nav")
        return self.page

    def shot(self, name: str) -> None:
        DOCS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(DOCS / f"console-{name}.png"), full_page=False)

    def close(self) -> None:
        assert self.leaked == [], f"requests left the server: {self.leaked}"
        blocked = [e for e in self.errors if "Content Security Policy" in e]  # refused before any network
        assert blocked == [], f"pages tried what the CSP forbids: {blocked}"
        self.context.close()


@pytest.fixture
def tab(browser: Any, server: Server, stories: dict[str, str]) -> Iterator[Page]:
    t = Page(browser, server)
    yield t
    t.close()


def test_sign_in_keeps_the_key_out_of_urls_and_storage(tab: Page, stories: dict[str, str]) -> None:
    page = tab.goto(f"/users/{SLUCERO}")
    page.wait_for_selector("form[aria-label='Sign in']")
    page.fill("input[name=key]", "ig_not_a_key")
    page.click("button[type=submit]")
    assert "not valid" in page.locator("[role=alert]").inner_text()
    tab.shot("signin")
    page.fill("input[name=key]", stories["sample_key"])
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('slucero')")  # the deep link opens after sign-in
    assert stories["sample_key"] not in page.url
    assert page.evaluate("Object.keys(localStorage).length") == 0
    assert page.evaluate("sessionStorage.getItem('insightgraph.key')") == stories["sample_key"]
    page.click("text=Sign out")
    page.wait_for_selector("form[aria-label='Sign in']")
    assert page.evaluate("sessionStorage.getItem('insightgraph.key')") is None


def test_user_view_graph_follows_the_time_slider(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path=f"/users/{SLUCERO}?asOf={JOINED}")
    graph = page.locator(".graph")
    page.wait_for_function("() => document.querySelector('.graph')?.dataset.edges.includes('HAS_ACCESS_TO')")
    edges = graph.get_attribute("data-edges")
    assert f"{SLUCERO}|MEMBER_OF|{ENGINEERING}" in edges
    assert f"{ENGINEERING}|HAS_ACCESS_TO|{GITHUB}" in edges and f"{ENGINEERING}|HAS_ACCESS_TO|{BUILD01}" in edges
    assert page.locator("table.access").inner_text().count("via Engineering") == 2
    assert "slucero" in page.locator("[data-section=profile]").inner_text()
    assert "membership" in page.locator("[data-section=lifecycle]").inner_text() or \
        "association" in page.locator("[data-section=lifecycle]").inner_text()
    assert "GitHub" in page.locator("[data-section=signins]").inner_text()
    tab.shot("user")
    # Slide to after the removal: the graph empties and the URL says the instant.
    slider = page.locator("input[type=range][name=asOf]")
    hi = int(slider.get_attribute("max"))
    slider.fill(str(hi))
    page.wait_for_function("() => !document.querySelector('.graph') || document.querySelector('.graph').dataset.edges === ''")
    assert "No groups and no access" in page.locator("[data-section=access]").inner_text()
    page.wait_for_url("**asOf=**")
    assert "2020-06-2" in page.url or "2020-06-3" in page.url or "2020-07" in page.url
    assert tab.errors == [], tab.errors


def test_click_on_an_edge_shows_the_granting_event(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path=f"/users/{SLUCERO}?asOf={JOINED}")
    page.wait_for_function("() => document.querySelector('.graph') && document.querySelector('.graph').cy "
                           "&& document.querySelector('.graph').cy.edges().length === 3")
    edge_id = f"{ENGINEERING}|HAS_ACCESS_TO|{GITHUB}"
    box = page.locator(".graph").bounding_box()
    mid = page.evaluate("id => document.querySelector('.graph').cy.getElementById(id).renderedMidpoint()", edge_id)
    page.mouse.click(box["x"] + mid["x"], box["y"] + mid["y"])  # on the canvas, where the edge is drawn
    panel = page.locator("[aria-label='Selected edge']")
    text = panel.inner_text()
    assert "Engineering granted GitHub" in text
    assert "association_change" in text and "5eda6c204fd13527dcd9cd30" in text
    assert "admin@example.org" in text and "97.122.249.157" in text
    tab.shot("user-edge")
    panel.locator("a", has_text="association_change").click()  # the event itself, in the activity log
    page.wait_for_selector("tr.event[data-id='5eda6c204fd13527dcd9cd30']")


def test_access_diff_between_two_instants(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path=f"/users/{SLUCERO}?diffFrom={JOINED}&diffTo={REMOVED}")
    diff = page.locator("[data-testid=diff]")
    diff.wait_for()
    lost = diff.locator("h3:has-text('Lost') + ul").inner_text()
    assert "GitHub" in lost and "build-01" in lost and "admin@example.org" in lost
    page.fill("input[name=diffFrom]", "yesterday")
    page.click("text=Compare")
    assert "ISO 8601" in page.locator("[data-section=diff] [role=alert]").inner_text()


def test_activity_filters_histogram_paging_and_json(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path="/activity")
    page.wait_for_selector("text=12 matching events")
    assert page.locator("tr.event").count() == 12
    page.wait_for_selector(".histogram rect.bar")
    assert page.locator(".histogram rect.bar").count() > 1
    tab.shot("activity")
    page.select_option("select[name=service]", "directory")
    page.fill("textarea[name=f]", "initiated_by.email=admin@example.org")
    page.click("text=Apply")
    page.wait_for_url("**service=directory**")
    page.wait_for_function("() => document.querySelector('.count')?.textContent.startsWith('7 ')")
    assert "f=initiated_by.email%3Dadmin%40example.org" in page.url
    # Dragging across the histogram zooms to the dragged range (into the URL).
    page.wait_for_selector(".histogram rect.bar")
    chart = page.locator(".histogram svg").bounding_box()
    y = chart["y"] + chart["height"] / 2
    page.mouse.move(chart["x"] + 1, y)  # from the first bucket, which holds the 2020-06-05 changes
    page.mouse.down()
    page.mouse.move(chart["x"] + chart["width"] * 0.5, y, steps=5)
    page.mouse.up()
    page.wait_for_url("**from=2020-06-0**")
    assert "to=2020-06-1" in page.url  # half of 2020-06-05..2020-06-20
    # A bar click zooms the time range to that bar.
    page.wait_for_selector("p.loading", state="detached")
    bars = page.locator(".histogram rect.bar[data-count]:not([data-count='0'])")
    bars.first.click()
    page.wait_for_url("**from=**")
    assert "to=" in page.url
    page.wait_for_selector("p.loading", state="detached")  # the zoomed page of events has arrived
    # The row expands to the full JSON by keyboard.
    first = page.locator("tr.event").first
    first.focus()
    page.keyboard.press("Enter")
    assert '"organization"' in page.locator("tr.json pre").inner_text()


def test_activity_csv_and_jsonl_export(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path="/activity?type=association_change&cols=timestamp,eventType,id")
    page.wait_for_selector("text=4 matching events")
    with page.expect_download() as dl:
        page.click("text=Export CSV")
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text())))
    assert rows[0] == ["timestamp", "eventType", "id"]
    assert len(rows) == 5 and {r[1] for r in rows[1:]} == {"association_change"}
    with page.expect_download() as dl:
        page.click("text=Export JSON lines")
    lines = Path(dl.value.path()).read_text().splitlines()
    assert len(lines) == 4 and all('"association_change"' in ln for ln in lines)


def test_rejected_filter_and_unknown_id_say_so(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path="/activity?f=no.such.field%3Dx")
    assert "no.such.field" in page.locator("[role=alert]").first.inner_text()
    page = tab.goto("/users/000000000000000000000000")
    assert "No user with id" in page.locator("[role=alert]").inner_text()
    page = tab.goto("/resources/nope")
    assert "No system or application" in page.locator("[role=alert]").inner_text()
    page = tab.goto("/activity?from=last%20week")
    assert "not an ISO 8601 instant" in page.locator("[role=alert]").inner_text()


def test_resource_view_who_can_and_who_did(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path=f"/resources/{GITHUB}?asOf={JOINED}")
    who = page.locator("[data-section=who-can]")
    who.locator("text=slucero").wait_for()
    assert "group: Engineering" in who.inner_text() and "admin@example.org" in who.inner_text()
    assert "slucero" in page.locator("[data-section=who-did]").inner_text()
    tab.shot("resource")
    page.fill("input[name=asOf]", REMOVED)
    page.click("text=Show")
    page.locator("[data-section=who-can] >> text=Nobody could reach it then.").wait_for()


def test_reports_table_and_csv(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["sample_key"], path=f"/reports?kind=users-systems&asOf={JOINED}")
    page.locator("[data-section=report] >> text=build-01").wait_for()
    with page.expect_download() as dl:
        page.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert [(r["username"], r["target_id"], r["via"]) for r in rows] == [("slucero", BUILD01, "Engineering")]
    tab.shot("reports")


def test_investigations_and_live_tail(tab: Page, stories: dict[str, str], db: Any) -> None:
    page = tab.sign_in(stories["both_key"], org=stories["demo"], path="/investigations")
    page.locator("[data-section=bursts] h2").wait_for()
    text = page.locator("main").inner_text()
    assert "Failed-login bursts (" in text and "New-country sign-ins (" in text
    tables = page.locator("[data-section] table")
    assert tables.count() >= 1, "the demo history has findings"
    user_link = page.locator("[data-section] table a[href^='/users/']").first
    tab.shot("investigations")
    page.click("text=Start live tail")
    page.wait_for_selector("[data-status=live]")
    event = sample_events()[5]  # a login attempt, re-homed into the demo org with a fresh id
    event.update(organization=stories["demo"], id="5f" + "0" * 21 + "9")
    ingest(db, [event])
    page.wait_for_selector("table.tail >> text=user_login_attempt")
    user_link.click()
    page.wait_for_selector("[data-section=profile]")


def test_the_live_tail_reconnects_after_an_outage_and_shows_what_was_stored_meanwhile(
        tab: Page, db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from neo4j.exceptions import ServiceUnavailable

    from app.gql import poller

    org = new_org()  # its own: a resume replays from 5 s before the last event, which the demo history may fill

    def login(eid: str) -> dict[str, Any]:
        event = sample_events()[5]
        event.update(organization=org, id=eid)
        return event

    page = tab.sign_in(make_key(db, org), org=org, path="/investigations")
    page.click("text=Start live tail")
    page.wait_for_selector("[data-status=live]")
    ingest(db, [login("5f" + "0" * 20 + "a1")])
    page.wait_for_selector("table.tail tr[data-id='5f" + "0" * 20 + "a1']")

    real = poller.events_since

    def away(*args: Any) -> Any:
        raise ServiceUnavailable("Neo4j away")

    monkeypatch.setattr(poller, "events_since", away)  # live events can no longer be read: the stream ends
    page.wait_for_selector("[data-status=reconnecting]")
    assert "live events stopped: ServiceUnavailable" in page.locator("[role=status]").inner_text()
    ingest(db, [login("5f" + "0" * 20 + "a2")])  # stored while the tail is away
    time.sleep(1.5)  # a reconnect attempt or two fail meanwhile
    monkeypatch.setattr(poller, "events_since", real)
    page.wait_for_selector("table.tail tr[data-id='5f" + "0" * 20 + "a2']", timeout=20_000)
    assert "events stored meanwhile were replayed" in page.locator("[data-note=resumed]").inner_text()
    page.wait_for_selector("[data-status=live]")
    ingest(db, [login("5f" + "0" * 20 + "a3")])
    page.wait_for_selector("table.tail tr[data-id='5f" + "0" * 20 + "a3']")
    ids = page.locator("table.tail tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert sorted(ids) == ["5f" + "0" * 20 + f"a{i}" for i in (1, 2, 3)]  # each once, nothing missed
    assert page.locator(".error").count() == 0


def test_organization_switcher_and_a_foreign_key_sees_nothing(tab: Page, stories: dict[str, str]) -> None:
    page = tab.sign_in(stories["both_key"], org=stories["sample"], path="/activity")
    page.wait_for_selector("text=12 matching events")
    page.select_option("header select", stories["demo"])
    page.wait_for_function("() => document.querySelector('.count') && "
                           "/^\\d+ matching/.test(document.querySelector('.count').textContent) && "
                           "!document.querySelector('.count').textContent.startsWith('12 ')")
    page.click("text=Sign out")
    page = tab.sign_in(stories["other_key"], path="/activity")
    page.wait_for_selector("text=No events match these filters.")
    page = tab.goto(f"/users/{SLUCERO}")
    assert "No user with id" in page.locator("[role=alert]").inner_text()
    page = tab.goto(f"/reports?kind=users-groups&asOf={JOINED}")
    page.wait_for_selector("text=No rows at that instant.")


def test_graphiql_and_docs_load_offline_with_a_csp(tab: Page, stories: dict[str, str], server: Server) -> None:
    import httpx

    for path in ("/", "/graphql", "/docs", f"/users/{SLUCERO}"):
        r = httpx.get(server.base + path, headers={"accept": "text/html"})
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, path
        assert "https://" not in r.text and "http://" not in r.text.replace("http://www.w3.org", ""), path
    tab.sign_in(stories["sample_key"])
    page = tab.goto("/graphql")
    page.wait_for_selector(".graphiql-container")
    page.click("[aria-label='Show GraphiQL Explorer']")
    page.wait_for_selector(".graphiql-explorer-root >> text=eventHistogram")  # the schema, read with the session's key
    page.click(".graphiql-execute-button")
    page.wait_for_selector(".result-window >> text=totalCount")
    assert "\"totalCount\": 1," in page.locator(".result-window").inner_text()
    tab.shot("graphiql")
    page = tab.goto("/docs")
    page.wait_for_selector("h1:has-text('insightgraph')", timeout=30_000)  # Redoc rendered /openapi.json
    tab.shot("docs")


def test_a_key_revoked_mid_session_signs_out_with_the_reason(tab: Page, stories: dict[str, str], db: Any) -> None:
    from graph.keys import create_key, revoke_key

    key, secret = create_key(db, [stories["sample"]], "read", "revoked in a test")
    page = tab.sign_in(secret, path="/activity")
    page.wait_for_selector("text=12 matching events")
    revoke_key(db, key.id)
    page.click("header >> text=Reports")
    alert = page.locator("form[aria-label='Sign in'] ~ [role=alert]")
    assert "not valid" in alert.inner_text() and "revoked" in alert.inner_text()
    assert page.evaluate("sessionStorage.getItem('insightgraph.key')") is None
