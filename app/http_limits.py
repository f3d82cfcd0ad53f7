"""Bounds on what one request may cost: hostile input must cost the attacker, not the service.

- `KeyLimiter`: at most `concurrent` requests of one API key run at once; a few more wait their turn, the rest get
  429. A heavy tenant then queues behind itself, not in front of everyone else.
- `BodyLimit`: an ASGI wrapper that bounds a request body (Content-Length and the bytes actually received) and how
  long the client may take between two body chunks (a slow-body client is cut off with 408).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any, Awaitable, Callable

from starlette.responses import JSONResponse

GRAPHQL_MAX_BODY = 32 * 1024 * 1024  # a /graphql body: an ingest mutation of 10,000 events fits
BODY_IDLE_SECONDS = 15.0  # longest pause between two chunks of a request body
BODY_TOTAL_SECONDS = 300.0  # longest time for a whole request body (64 MB at ~220 KB/s)


class TooManyRequests(Exception):
    """More requests of one key than it may run or queue."""


class KeyLimiter:
    """Per-key concurrency: `concurrent` at once, up to `queued` more waiting; beyond that, TooManyRequests."""

    def __init__(self, concurrent: int = 8, queued: int = 32) -> None:
        self.concurrent, self.queued = concurrent, queued
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._waiting: dict[str, int] = defaultdict(int)
        self._active: dict[str, int] = defaultdict(int)

    async def run(self, key: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        sem = self._sems.setdefault(key, asyncio.Semaphore(self.concurrent))
        if sem.locked() and self._waiting[key] >= self.queued:
            raise TooManyRequests(f"more than {self.concurrent + self.queued} concurrent requests with this API "
                                  f"key; retry later")
        self._waiting[key] += 1
        try:
            await sem.acquire()
        finally:
            self._waiting[key] -= 1
        self._active[key] += 1
        try:
            return await fn()
        finally:
            sem.release()
            self._active[key] -= 1
            if not self._active[key] and not self._waiting[key]:  # forget idle keys: memory stays bounded
                self._sems.pop(key, None)
                self._active.pop(key, None)
                self._waiting.pop(key, None)


class KeyLimitMiddleware:
    """Runs each authenticated HTTP request under its key's `KeyLimiter` slot (after AuthMiddleware)."""

    def __init__(self, app: Any, limiter: KeyLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter or KeyLimiter()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        principal = scope.get("state", {}).get("principal") if scope["type"] == "http" else None
        if principal is None:
            await self.app(scope, receive, send)
            return
        try:
            await self.limiter.run(principal.key.id, lambda: self.app(scope, receive, send))
        except TooManyRequests as exc:
            await JSONResponse({"message": str(exc)}, 429, headers={"Retry-After": "1"})(scope, receive, send)


class BodyTooLarge(BaseException):
    """Raised from `receive` inside the app; a BaseException so no handler's `except Exception` turns it into a
    500 before BodyLimit answers 413."""


class BodyLimit:
    """Bounds request bodies: 413 past `limit` bytes on `paths` (the GraphQL view would otherwise read any body;
    the REST routes bound their own), and on every path 408 when the client pauses longer than `idle` seconds
    between two chunks or takes longer than `total` seconds for the whole body (slow-body connections)."""

    def __init__(self, app: Any, limit: int, paths: tuple[str, ...] = ("/graphql",),
                 idle: float | None = None, total: float | None = None) -> None:
        self.app, self.limit, self.paths = app, limit, paths
        self.idle = BODY_IDLE_SECONDS if idle is None else idle
        self.total = BODY_TOTAL_SECONDS if total is None else total

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sized = scope["path"].rstrip("/") in self.paths
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if sized and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, 413, f"the body is larger than {self.limit} bytes")
            return
        received = 0
        started = False
        deadline = asyncio.get_running_loop().time() + self.total
        body_done = False

        async def bounded() -> dict:
            nonlocal received, body_done
            if body_done:  # after the body, receive() waits for a disconnect: no timeout applies
                return await receive()
            wait = min(self.idle, deadline - asyncio.get_running_loop().time())
            try:
                message = await asyncio.wait_for(receive(), max(wait, 0.001))
            except asyncio.TimeoutError:
                raise _SlowBody() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if sized and received > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, 413, f"the body is larger than {self.limit} bytes")
        except _SlowBody:
            if not started:
                await self._refuse(scope, receive, send, 408, "the body did not arrive in time (more than "
                                   f"{self.idle:g} s without data, or {self.total:g} s in all)")

    @staticmethod
    async def _refuse(scope: dict, receive: Any, send: Any, status: int, message: str) -> None:
        await JSONResponse({"message": message}, status, headers={"Connection": "close"})(scope, receive, send)


class _SlowBody(BaseException):
    """As BodyTooLarge, for the 408."""
