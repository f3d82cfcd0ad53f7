"""A vendor-like Directory Insights API for the sync tests: in memory, on a loopback port, with the vendor's habits.

It pages like the vendor (sorted by timestamp then id, `search_after` keyset, `X-Search_after` on every page
including the last and empty ones, a page limit it may cap below what was asked for), keeps several organizations
behind one key (`x-org-id`), answers 400 to `end_time <= start_time`, and can be told to misbehave: a scripted
queue of failures (429 with Retry-After, 503, ...), slow pages, events that appear late. Every request is logged
so tests can see what the collector sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.model.times import parse_timestamp

BASE = "/insights/directory/v1"


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "injected failure"


@dataclass
class Logged:
    path: str
    at: float  # time.monotonic() when the request arrived
    org: str | None
    body: Any
    status: int = 0
    count: int = 0  # events returned


class VendorAPI:
    def __init__(self, keys: dict[str, list[str]], max_limit: int = 10_000, delay: float = 0.0) -> None:
        self.keys = keys  # secret -> organizations it may read
        self.events: dict[str, list[tuple[int, str, bytes]]] = {}  # org -> sorted (ms, id, raw JSON)
        self.max_limit = max_limit
        self.delay = delay  # seconds before each /events page
        self.faults: list[Fault] = []  # answered, in order, instead of the next /events requests
        self.log: list[Logged] = []
        self.bad_windows: list[Any] = []  # bodies with end_time <= start_time
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route(f"{BASE}/events", self._events, methods=["POST"]),
                                     Route(f"{BASE}/events/count", self._count, methods=["POST"])])

    # --- data ---------------------------------------------------------------------------------------------------
    def add(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            touched = set()
            for ev in events:
                self.events.setdefault(ev["organization"], []).append(
                    (parse_timestamp(ev["timestamp"]), ev["id"], json.dumps(ev).encode()))
                touched.add(ev["organization"])
            for org in touched:
                self.events[org].sort(key=lambda r: (r[0], r[1]))

    def served(self, path: str = "/events") -> int:
        """Events returned so far on `path`."""
        return sum(r.count for r in self.log if r.path == path and r.status == 200)

    # --- handlers -----------------------------------------------------------------------------------------------
    def _auth(self, request: Request) -> tuple[str | None, Response | None]:
        orgs = self.keys.get(request.headers.get("x-api-key", ""))
        if orgs is None:
            return None, JSONResponse({"message": "Unauthorized"}, 401)
        asked = request.headers.getlist("x-org-id")
        if not asked:
            if len(orgs) != 1:
                return None, JSONResponse({"message": "x-org-id is required for this key"}, 400)
            return orgs[0], None
        if asked[0] not in orgs:
            return None, JSONResponse({"message": f"Forbidden: organization {asked[0]}"}, 403)
        return asked[0], None

    async def _common(self, request: Request, path: str) -> tuple[Logged, Any, Response | None]:
        body = json.loads(await request.body() or b"{}")
        entry = Logged(path, time.monotonic(), request.headers.get("x-org-id"), body)
        with self._lock:
            self.log.append(entry)
            fault = self.faults.pop(0) if self.faults and path == "/events" else None
        if fault is not None:
            entry.status = fault.status
            return entry, body, JSONResponse({"message": fault.message}, fault.status, headers=fault.headers)
        org, denied = self._auth(request)
        if denied is not None:
            entry.status = denied.status_code
            return entry, body, denied
        start = parse_timestamp(body["start_time"])
        end = parse_timestamp(body["end_time"]) if body.get("end_time") else None
        if end is not None and end <= start:
            self.bad_windows.append(body)
            entry.status = 400
            return entry, body, JSONResponse({"message": "Start Time not after End Time"}, 400)
        with self._lock:
            rows = [r for r in self.events.get(org, []) if r[0] >= start and (end is None or r[0] < end)]
        return entry, rows, None

    async def _count(self, request: Request) -> Response:
        entry, rows, answer = await self._common(request, "/events/count")
        if answer is not None:
            return answer
        entry.status = 200
        return JSONResponse({"count": len(rows)})

    async def _events(self, request: Request) -> Response:
        entry, rows, answer = await self._common(request, "/events")
        if answer is not None:
            return answer
        body = entry.body
        limit = body.get("limit")
        limit = limit if isinstance(limit, int) and limit > 0 else 1000
        limit = min(limit, self.max_limit)
        after = body.get("search_after")
        if after:
            cursor = (int(after[0]), str(after[1]))
            rows = [r for r in rows if (r[0], r[1]) > cursor]
        page = rows[:limit]
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        last = [page[-1][0], page[-1][1]] if page else (after or [])
        entry.status, entry.count = 200, len(page)
        return Response(b"[" + b",".join(r[2] for r in page) + b"]", 200, media_type="application/json", headers={
            "X-Result-Count": str(len(page)), "X-Limit": str(limit), "X-Sort": "ASC",
            "X-Search_after": json.dumps(last), "X-Request-Id": f"req-{len(self.log)}",
        })


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serving:
    """Any ASGI app served by uvicorn in a thread on a free loopback port (a context manager)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Serving:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the test server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
