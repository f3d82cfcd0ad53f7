"""Live events for `eventAdded` subscriptions, whichever path ingested them (CLI, GraphQL, HTTP, another process).

Each subscription polls the database for events stored since it last looked (`Event.ingested`, the database's
clock at commit time, indexed per organization). A transaction commits a little after it stamps its events, so
each poll looks back LOOKBACK_MS and drops ids it has already delivered: nothing is missed, nothing repeats.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from starlette.concurrency import run_in_threadpool

from app.model.filters import Node
from graph.db import Database
from graph.search import StoredEvent, db_clock, events_since

POLL_SECONDS = 0.25
LOOKBACK_MS = 5_000
PAGE = 1000


async def follow(db: Database, organization: str, where: Node,
                 poll: float = POLL_SECONDS) -> AsyncIterator[StoredEvent]:
    start = await run_in_threadpool(db_clock, db)
    delivered: dict[str, int] = {}  # id -> ingested, for ids inside the lookback window
    newest = start
    while True:
        cursor = (max(start, newest - LOOKBACK_MS), "")
        while True:
            rows = await run_in_threadpool(events_since, db, organization, where, cursor, PAGE)
            for ingested, ev in rows:
                if ev.id not in delivered:
                    delivered[ev.id] = ingested
                    yield ev
            if len(rows) < PAGE:
                break
            cursor = (rows[-1][0], rows[-1][1].id)
        if delivered:
            newest = max(newest, max(delivered.values()))
        horizon = newest - LOOKBACK_MS
        for eid in [k for k, v in delivered.items() if v < horizon]:
            del delivered[eid]
        await asyncio.sleep(poll)
