"""One live-event poller per organization, shared by all its `eventAdded` subscriptions.

Live events, whichever path ingested them (CLI, GraphQL, HTTP, another process): one task per organization polls
for events stored since it last looked (`Event.ingested`, the database's clock at commit time, indexed per
organization) and hands each to every subscriber. A transaction commits a little after it stamps its events, so each
poll (the first too) looks back LOOKBACK_MS and leaves out, in its query, the ids it has already delivered: nothing
is missed, nothing repeats, and an event's stored JSON is read once however often its id is. A subscriber
with a filter gets those of a new batch that match it, found by one query per distinct filter and only when there
are new events, so idle subscriptions cost nothing (one poller per subscription made 500 idle ones cost 2,000
queries a second).

A subscriber that reconnects names the last event it received (`resume_after`): the events stored since are
replayed first, from that event's `ingested` less LOOKBACK_MS (an event stamped just before it may have committed
after it), then the live ones follow, those the replay already gave skipped. So a reconnect loses nothing; an event
stored up to LOOKBACK_MS before the named one may come a second time (deduplicate by id).

The same task re-checks the keys of its subscribers every KEY_CHECK_SECONDS: a revoked key's subscriptions end
with an error. A key may hold at most MAX_PER_KEY subscriptions; a subscriber that falls QUEUE events behind is
ended rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field
from typing import AsyncIterator, Collection

from starlette.concurrency import run_in_threadpool

from app.model.filters import MATCH_ALL, Node, all_of, match
from graph.db import UNAVAILABLE, Database
from graph.keys import live_keys
from graph.search import StoredEvent, db_clock, events_since, find_events, ingested_at

POLL_SECONDS = 0.25
LOOKBACK_MS = 5_000
PAGE = 1000
MAX_PER_KEY = 20
KEY_CHECK_SECONDS = 2.0
QUEUE = 10_000


class SubscriptionEnded(Exception):
    """Why a live subscription was ended by the service (shown to the client)."""


_END = object()


@dataclass(eq=False)
class _Subscriber:
    key_id: str
    where: Node
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE))
    reason: str | None = None

    def end(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(_END)


class _OrgPoller:
    def __init__(self, hub: "Hub", db: Database, org: str) -> None:
        self.hub, self.db, self.org = hub, db, org
        self.subscribers: set[_Subscriber] = set()
        self.task: asyncio.Task | None = None
        self.ready = asyncio.Event()  # set once the poller has its starting point: later events are delivered
        self.low = 0  # every event it delivers from now on was stored at or after this (ingested ms)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        """The poll loop, unfiltered and a poll's events at a time: each poll looks back LOOKBACK_MS
        (a transaction commits a little after it stamps its events) and drops ids already delivered."""
        checker = asyncio.create_task(self._check_keys())
        try:
            start = await run_in_threadpool(db_clock, self.db)
            # What was stored before `start` is the past, to be skipped; but an event stamped before it whose
            # transaction commits later is not, so even the first polls look back LOOKBACK_MS.
            delivered: dict[str, int] = {ev.id: ingested async for ingested, ev in
                                         _stored_since(self.db, self.org, MATCH_ALL, start - LOOKBACK_MS)
                                         if ingested < start}
            newest = start
            self.low = start - LOOKBACK_MS
            self.ready.set()
            while True:
                self.low = newest - LOOKBACK_MS
                fresh: list[StoredEvent] = []
                async for ingested, ev in _stored_since(self.db, self.org, MATCH_ALL, self.low, exclude=delivered):
                    delivered[ev.id] = ingested
                    fresh.append(ev)
                if fresh:
                    await self._deliver(fresh)
                if delivered:
                    newest = max(newest, max(delivered.values()))
                horizon = newest - LOOKBACK_MS
                for eid in [k for k, v in delivered.items() if v < horizon]:
                    del delivered[eid]
                await asyncio.sleep(self.hub.poll)
        except Exception as exc:  # noqa: BLE001 - the database failing ends the subscriptions, with a reason
            self.hub.retire(self)  # a subscriber arriving from now on starts a new poller, not this dead one
            self.ready.set()
            for sub in list(self.subscribers):
                sub.end(f"live events stopped: {type(exc).__name__}")
        finally:
            checker.cancel()

    async def _deliver(self, events: list[StoredEvent]) -> None:
        by_filter: dict[str, tuple[Node, list[_Subscriber]]] = {}
        for sub in list(self.subscribers):  # one query per distinct filter
            by_filter.setdefault(repr(sub.where), (sub.where, []))[1].append(sub)
        for where, subs in by_filter.values():
            chosen = events
            if where != MATCH_ALL:
                ids = [ev.id for ev in events]
                found = await run_in_threadpool(find_events, self.db, self.org, all_of(where, match("id", ids)),
                                                limit=len(ids))
                wanted = {ev.id for ev in found}
                chosen = [ev for ev in events if ev.id in wanted]
            for sub in subs:
                for ev in chosen:
                    try:
                        sub.queue.put_nowait(ev)
                    except asyncio.QueueFull:
                        sub.end(f"the subscriber fell more than {QUEUE} events behind")
                        break

    async def _check_keys(self) -> None:
        while True:
            await asyncio.sleep(self.hub.key_check)
            keys = sorted({s.key_id for s in self.subscribers})
            if not keys:
                continue
            try:
                live = await run_in_threadpool(live_keys, self.db, keys)
            except Exception:  # noqa: BLE001 - the database away: the poll itself reports it
                continue
            for sub in list(self.subscribers):
                if sub.key_id not in live:
                    sub.end("the API key was revoked")


class Hub:
    """The pollers of one service process, by organization."""

    def __init__(self, poll: float = POLL_SECONDS, key_check: float = KEY_CHECK_SECONDS,
                 max_per_key: int = MAX_PER_KEY) -> None:
        self.poll, self.key_check, self.max_per_key = poll, key_check, max_per_key
        self.pollers: dict[tuple[int, int, str], _OrgPoller] = {}
        self._ids = itertools.count()

    def retire(self, poller: _OrgPoller) -> None:
        for home, p in list(self.pollers.items()):
            if p is poller:
                del self.pollers[home]

    def count(self, key_id: str) -> int:
        return sum(1 for p in self.pollers.values() for s in p.subscribers if s.key_id == key_id)

    async def subscribe(self, db: Database, org: str, key_id: str, where: Node,
                        resume_after: str | None = None) -> AsyncIterator[StoredEvent]:
        if self.count(key_id) >= self.max_per_key:
            raise SubscriptionEnded(f"this API key already holds {self.max_per_key} live subscriptions; end one "
                                    "first")
        home = (id(asyncio.get_running_loop()), id(db), org)  # a poller's task lives on one event loop
        poller = self.pollers.get(home)
        if poller is None:
            poller = self.pollers[home] = _OrgPoller(self, db, org)
            poller.start()
        sub = _Subscriber(key_id, where)
        poller.subscribers.add(sub)
        try:
            await poller.ready.wait()
            replayed: set[str] = set()  # replayed events the live stream may deliver too
            if resume_after is not None:
                low = poller.low  # live events reach `sub` from here on: the replay's overlap starts here
                try:
                    async for ingested, ev in _replay(db, org, where, resume_after):
                        if ingested >= low:
                            replayed.add(ev.id)
                        yield ev
                except UNAVAILABLE as exc:  # as a failing poll says it: the client resumes again later
                    raise SubscriptionEnded(f"live events stopped: {type(exc).__name__}") from None
            while True:
                item = await sub.queue.get()
                if item is _END or sub.reason is not None:  # ended with its queue full: no _END fitted behind
                    raise SubscriptionEnded(sub.reason or "ended")
                if item.id not in replayed:
                    yield item
        finally:
            poller.subscribers.discard(sub)
            if not poller.subscribers and self.pollers.get(home) is poller:
                del self.pollers[home]
                if poller.task is not None:
                    poller.task.cancel()


async def _replay(db: Database, org: str, where: Node, after_id: str) -> AsyncIterator[tuple[int, StoredEvent]]:
    """(ingested, event) for the events matching `where` stored since the event `after_id`, from LOOKBACK_MS
    before it, in the order they were stored; that event itself left out."""
    since = await run_in_threadpool(ingested_at, db, org, after_id)
    if since is None:
        raise SubscriptionEnded(f"resumeAfter: no event {after_id!r} in this organization")
    async for ingested, ev in _stored_since(db, org, where, since - LOOKBACK_MS):
        if ev.id != after_id:
            yield ingested, ev


async def _stored_since(db: Database, org: str, where: Node, since: int,
                        exclude: Collection[str] = ()) -> AsyncIterator[tuple[int, StoredEvent]]:
    """(ingested, event) for the events matching `where` stored at or after `since`, in the order they were
    stored, but for the ids in `exclude` (read as each page is), read PAGE at a time."""
    cursor = (since, "")
    while True:
        rows = await run_in_threadpool(events_since, db, org, where, cursor, PAGE, list(exclude))
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        cursor = (rows[-1][0], rows[-1][1].id)


HUB = Hub()
