"""The HTTP side of sync: one Directory Insights API, paged with `search_after`, polite and persistent.

- Paging repeats the same body with `search_after` = the decoded `X-Search_after` of the previous page until
  `X-Result-Count < X-Limit`, compared as numbers (a server may cap the limit below what was asked for).
- 429, 5xx and transport errors are retried with exponential backoff (with jitter), honouring `Retry-After`
  (seconds or an HTTP date); any other 4xx cannot be fixed by retrying and stops with one line naming the request.
- A request rate cap (default 10/s) is shared by every organization pulled through this client.
- A window with `end <= start` is never sent (the vendor answers 400 "Start Time not after End Time").
- The API key goes only into the `x-api-key` header: it is never logged and never part of an error message.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import httpx

from app.model.errors import EventError
from app.model.times import format_ms, parse_timestamp
from app.model.jsonutil import JSONDecodeError, loads
from app.sync.metrics import SYNC_REQUESTS, SYNC_RETRIES

log = logging.getLogger("insightgraph.sync")

SOURCES = {"us": "https://api.jumpcloud.com", "eu": "https://api.eu.jumpcloud.com"}
BASE_PATH = "/insights/directory/v1"
MAX_LIMIT = 10_000
RETRY_STATUSES = {429, 500, 502, 503, 504}
USER_AGENT = "insightgraph-sync/0.1"


class SyncError(RuntimeError):
    """A failure retrying cannot fix (or retries ran out): one line, naming the request, never the key."""


class Stopped(Exception):
    """The stop event was set while waiting (to retry, or for the rate cap): nothing was in hand."""


def resolve_source(source: str) -> str:
    """`eu` / `us` -> the vendor's host; a URL as given (without a trailing slash or the API base path)."""
    url = SOURCES.get(source.strip().lower(), source.strip()).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"--source {source!r}: a URL (http:// or https://) or one of {', '.join(SOURCES)}")
    return url.removesuffix(BASE_PATH)


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    cursor: tuple[int, str] | None  # [epoch ms, id] of the page's last event
    count: int
    limit: int


class RateLimiter:
    """At most `rate` acquisitions per second across threads (evenly spaced, no bursts)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event | None = None) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            if stop is not None:
                if stop.wait(delay):
                    raise Stopped()
            else:
                time.sleep(delay)


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (delay from now); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class DirectoryInsightsClient:
    def __init__(self, source: str, api_key: str, rate: float = 10.0, max_attempts: int = 8,
                 backoff: float = 1.0, max_backoff: float = 60.0, timeout: float = 120.0,
                 stop: threading.Event | None = None) -> None:
        self.base = resolve_source(source)
        self.label = self.base  # for logs and metrics: the URL carries no secret
        self._key = api_key
        self.max_attempts = max_attempts
        self.backoff, self.max_backoff = backoff, max_backoff
        self.stop = stop or threading.Event()
        self.limiter = RateLimiter(rate)
        self.http = httpx.Client(base_url=self.base + BASE_PATH, timeout=httpx.Timeout(timeout, connect=15.0),
                                 headers={"user-agent": USER_AGENT, "content-type": "application/json"})

    def close(self) -> None:
        self.http.close()

    # --- one request, retried -------------------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any], org: str | None) -> httpx.Response:
        headers = {"x-api-key": self._key}
        if org:
            headers["x-org-id"] = org
        what = _describe(path, body, org)
        content = json.dumps(body, separators=(",", ":"))
        for attempt in range(1, self.max_attempts + 1):
            self.limiter.wait(self.stop)
            try:
                resp = self.http.post(path, content=content, headers=headers)
            except httpx.TransportError as exc:
                reason, delay, detail = type(exc).__name__, None, f"{type(exc).__name__}: {exc}"
            else:
                SYNC_REQUESTS.labels(self.label, str(resp.status_code)).inc()
                if resp.status_code == 200:
                    return resp
                detail = f"answered {resp.status_code}: {_message(resp)}"
                rid = resp.headers.get("x-request-id")
                if rid:
                    detail += f" (X-Request-Id {rid})"
                if resp.status_code not in RETRY_STATUSES:
                    raise SyncError(f"{what} {detail}")
                reason, delay = str(resp.status_code), retry_after_seconds(resp.headers.get("retry-after"))
            if attempt == self.max_attempts:
                raise SyncError(f"{what} failed after {attempt} attempts; last: {detail}")
            if delay is None:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            delay = min(delay, 3600.0)
            SYNC_RETRIES.labels(self.label, reason).inc()
            log.warning("retrying a request to the source", extra={
                "source": self.label, "path": path, "organization": org, "attempt": attempt, "reason": reason,
                "retry_in_seconds": round(delay, 2), "detail": detail})
            if self.stop.wait(delay):
                raise Stopped()
        raise AssertionError("unreachable")

    # --- the API --------------------------------------------------------------------------------------------
    def count(self, org: str | None, start_ms: int, end_ms: int, service: list[str] | None = None) -> int | None:
        """Events in [start, end) (for the progress bar); None when the source cannot say."""
        if end_ms <= start_ms:
            return 0
        body = {"service": service or ["all"], "start_time": format_ms(start_ms), "end_time": format_ms(end_ms)}
        try:
            value = loads(self.post("/events/count", body, org).content).get("count")
        except (SyncError, JSONDecodeError, AttributeError):
            return None
        return value if isinstance(value, int) else None

    def pages(self, org: str | None, start_ms: int, end_ms: int, limit: int = MAX_LIMIT,
              service: list[str] | None = None) -> Iterator[Page]:
        """Every event in [start, end), ascending, page by page. Nothing is sent when end <= start."""
        if end_ms <= start_ms:
            return
        body: dict[str, Any] = {"service": service or ["all"], "start_time": format_ms(start_ms),
                                "end_time": format_ms(end_ms), "limit": limit, "sort": "ASC"}
        previous: Any = None
        while True:
            resp = self.post("/events", body, org)
            what = _describe("/events", body, org)
            try:
                events = loads(resp.content)
            except JSONDecodeError as exc:
                raise SyncError(f"{what} answered 200 with a body that is not JSON ({exc})") from None
            if not isinstance(events, list):
                raise SyncError(f"{what} answered 200 with {type(events).__name__}, not a JSON array of events")
            count = _header_int(resp, "x-result-count", len(events))
            page_limit = _header_int(resp, "x-limit", limit)
            raw_cursor = resp.headers.get("x-search_after")
            cursor = _cursor(raw_cursor, events)
            yield Page(events, cursor, count, page_limit)
            if count < page_limit or not events:
                return
            if cursor is None:
                raise SyncError(f"{what} returned a full page without a usable X-Search_after: cannot page on")
            next_after = json.loads(raw_cursor) if raw_cursor and _json_list(raw_cursor) else list(cursor)
            if next_after == previous:
                raise SyncError(f"{what} returned the same X-Search_after twice ({raw_cursor}): paging would loop")
            previous = next_after
            body = {**body, "search_after": next_after}


def _json_list(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, list) and len(value) > 0


def _cursor(header: str | None, events: list[Any]) -> tuple[int, str] | None:
    """The page's last [ms, id]: the header when it is one, else computed from the last event."""
    if header:
        try:
            value = json.loads(header)
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], (int, float)):
                return int(value[0]), str(value[1])
        except ValueError:
            pass
    if events and isinstance(events[-1], dict):
        last = events[-1]
        try:
            return parse_timestamp(last.get("timestamp")), str(last.get("id"))
        except EventError:
            return None
    return None


def _header_int(resp: httpx.Response, name: str, default: int) -> int:
    value = resp.headers.get(name)
    try:
        return int(str(value).strip()) if value is not None else default
    except ValueError:
        return default


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
        msg = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        msg = None
    text = msg if isinstance(msg, str) else resp.text[:200]
    return " ".join(text.split()) or resp.reason_phrase


def _describe(path: str, body: dict[str, Any], org: str | None) -> str:
    parts = [f"start_time {body.get('start_time')}", f"end_time {body.get('end_time')}"]
    if body.get("search_after"):
        parts.append(f"search_after {json.dumps(body['search_after'])}")
    if org:
        parts.insert(0, f"x-org-id {org}")
    return f"POST {BASE_PATH}{path} ({', '.join(parts)})"
