"""The sync loop: windows behind a checkpoint, pulled page by page through the normal ingest pipeline.

Per (source, organization) there is one checkpoint C in Neo4j: every event before C is stored. A poll reads the
window [C - lag, now) (the first one [since, now)); the lag re-read catches events the vendor publishes late, and
re-reading costs nothing because ingest is idempotent by event id. The checkpoint moves only after the events that
reached it were committed: to a page's last timestamp once every event up to that page's end is committed (events
sharing that millisecond are read again next time, never lost), and to the window's end once the window is done.
So a SIGKILL at any moment, then a re-run, stores every event exactly once.

Pages are fetched one ahead in a thread while the pipeline parses and writes (itself one batch ahead), so a
backfill from a fast source runs at the speed of ingest.

Only the holder of the lease of a (source, organization) pulls it: another collector waits (one-shot) or stands by
(follow) until the lease is released or expires, and the checkpoint write is conditional on holding it.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from app.ingest import Pipeline, Summary
from app.observability import record_ingest
from app.ingest.records import Record
from app.sync.client import DirectoryInsightsClient, Page, Stopped, SyncError
from app.sync.metrics import SYNC_ERRORS, SYNC_EVENTS, SYNC_LAG
from graph import sync_state
from graph.db import Database, DatabaseUnavailable
from graph.sync_state import LeaseLost

log = logging.getLogger("insightgraph.sync")

KEY_ORG = ""  # the checkpoint's organization when none is named: the key's own


def now_ms() -> int:
    return int(time.time() * 1000)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class SyncConfig:
    orgs: list[str]  # empty: the key's own organization
    since_ms: int  # where a first run starts
    lag_ms: int = 10 * 60_000
    follow: bool = False
    interval: float = 60.0
    page_size: int = 10_000
    lease_ms: int = 60_000
    lease_poll: float = 2.0  # how often a waiting collector asks for the lease again


@dataclass
class OrgResult:
    organization: str
    summary: Summary = field(default_factory=Summary)
    pulled: int = 0
    start: int | None = None
    end: int | None = None
    checkpoint: int | None = None
    caught_up: bool = False
    error: str | None = None
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was pulled (lease held elsewhere in follow mode)


class _Tracking(Pipeline):
    """The pipeline, telling the collector after each committed batch how far the committed prefix reaches."""

    on_settled: Callable[[str], None] | None = None

    def _settle(self, pending: Any, summary: Summary, progress: Any) -> None:
        super()._settle(pending, summary, progress)
        if pending is not None and pending[1] and self.on_settled is not None:
            self.on_settled(pending[1][-1][0])  # the `where` of the batch's last record


class _Leases:
    """The leases this collector holds, renewed in the background while it works (or waits between polls)."""

    def __init__(self, db: Database, source: str, holder: str, ttl_ms: int) -> None:
        self.db, self.source, self.holder, self.ttl_ms = db, source, holder, ttl_ms
        self.held: set[str] = set()
        self.lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="sync-lease", daemon=True)
        self._thread.start()

    def try_acquire(self, org: str) -> sync_state.Lease:
        lease = sync_state.acquire(self.db, self.source, org, self.holder, self.ttl_ms)
        if lease.acquired:
            with self._lock:
                self.held.add(org)
                self.lost.discard(org)
        return lease

    def release(self, org: str) -> None:
        with self._lock:
            self.held.discard(org)
        try:
            sync_state.release(self.db, self.source, org, self.holder)
        except Exception:  # the lease expires by itself
            log.warning("could not release the sync lease", extra={"organization": org}, exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for org in list(self.held):
            self.release(org)

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            with self._lock:
                orgs = list(self.held)
            for org in orgs:
                try:
                    ok = sync_state.renew(self.db, self.source, org, self.holder, self.ttl_ms)
                except Exception as exc:
                    log.warning("could not renew the sync lease: %s", type(exc).__name__, extra={"organization": org})
                    continue
                if not ok:
                    log.error("lost the sync lease", extra={"organization": org})
                    with self._lock:
                        self.held.discard(org)
                        self.lost.add(org)


class Collector:
    def __init__(self, db: Database, client: DirectoryInsightsClient, config: SyncConfig,
                 pipeline: Callable[[str | None], Pipeline], stop: threading.Event | None = None,
                 progress: Callable[[str, int | None], Any] | None = None) -> None:
        """`pipeline(org)` builds the ingest pipeline for one organization (None: the key's own); `progress(org,
        total)` a context manager with `update(n)` (a tqdm bar) for one poll."""
        self.db, self.client, self.config = db, client, config
        self.make_pipeline = pipeline
        self.stop = stop or client.stop
        self.progress = progress
        self.source = client.label
        self.leases = _Leases(db, self.source, holder_id(), config.lease_ms)

    def close(self) -> None:
        self.leases.close()

    # --- the loop ---------------------------------------------------------------------------------------------
    def run(self) -> list[OrgResult]:
        """One-shot: every organization once, until caught up. Follow: poll every `interval` until stopped.
        Returns the last poll's result per organization (with totals over the whole run)."""
        sync_state.ensure_sync_schema(self.db)
        totals: dict[str, OrgResult] = {}
        orgs = self.config.orgs or [KEY_ORG]
        while True:
            started = time.monotonic()
            for org in orgs:
                if self.stop.is_set():
                    break
                res = self.poll(org)
                total = totals.setdefault(org, OrgResult(org))
                _merge(total, res)
            if not self.config.follow or self.stop.is_set():
                break
            self.stop.wait(max(0.0, self.config.interval - (time.monotonic() - started)))
            if self.stop.is_set():
                break
        return [totals[o] for o in orgs if o in totals]

    def poll(self, org: str) -> OrgResult:
        """Pull one organization's window; errors are recorded (in Neo4j, the log, metrics), not raised."""
        res = OrgResult(org)
        t0 = time.monotonic()
        try:
            if not self._lease(org, res):
                return res
            self._pull(org, res)
            sync_state.record_result(self.db, self.source, org, None)
        except Stopped:
            pass
        except (SyncError, LeaseLost, DatabaseUnavailable) as exc:
            self._failed(org, res, type(exc).__name__, str(exc))
        except Exception as exc:  # the database went away mid-way, a bug: say so, carry on next poll
            log.exception("sync poll failed", extra={"organization": org, "source": self.source})
            self._failed(org, res, type(exc).__name__, f"{type(exc).__name__}: {exc}")
        finally:
            res.seconds = time.monotonic() - t0
            if res.checkpoint is not None:  # also when the poll failed: the lag keeps growing while it does
                SYNC_LAG.labels(self.source, org).set(max(0.0, (now_ms() - res.checkpoint) / 1000))
            if not self.config.follow and org in self.leases.held:
                self.leases.release(org)
        return res

    def _failed(self, org: str, res: OrgResult, kind: str, message: str) -> None:
        res.error = " ".join(message.split())
        SYNC_ERRORS.labels(self.source, org, kind).inc()
        log.error("sync poll failed: %s", res.error, extra={"organization": org, "source": self.source})
        try:
            sync_state.record_result(self.db, self.source, org, res.error)
        except Exception:
            pass
        if kind == "LeaseLost":
            self.leases.held.discard(org)

    def _lease(self, org: str, res: OrgResult) -> bool:
        """Hold the lease of this organization: wait for it (one-shot) or stand by this round (follow)."""
        if org in self.leases.held:
            return True
        said = False
        while not self.stop.is_set():
            lease = self.leases.try_acquire(org)
            if lease.acquired:
                if said:
                    log.info("got the sync lease", extra={"organization": org, "source": self.source})
                return True
            if self.config.follow:
                res.skipped = f"lease held by {lease.holder}"
                log.info("standing by: another collector holds the sync lease",
                         extra={"organization": org, "source": self.source, "holder": lease.holder})
                return False
            if not said:
                log.info("waiting for the sync lease", extra={"organization": org, "source": self.source,
                                                               "holder": lease.holder, "until": lease.until})
                said = True
            self.stop.wait(self.config.lease_poll)
        return False

    # --- one window -----------------------------------------------------------------------------------------
    def _pull(self, org: str, res: OrgResult) -> None:
        cfg = self.config
        cp = sync_state.checkpoint(self.db, self.source, org)
        start = cfg.since_ms if cp is None else max(0, cp - cfg.lag_ms)
        end = now_ms()
        res.start, res.end, res.checkpoint = start, end, cp
        if end <= start:  # a clock behind the checkpoint, or --since in the future: nothing to ask for
            res.caught_up = True
            return
        o = org or None
        total = self.client.count(o, start, end) if self.progress else None
        pages: queue.Queue[Any] = queue.Queue(maxsize=2)
        page_ends: list[tuple[int, int]] = []  # (records yielded after this page, its last event's ms)
        state = {"done_pages": 0, "advanced_to": 0, "complete": False}
        fetch_stop = threading.Event()

        def offer(item: Any) -> bool:
            """Hand an item to the consumer unless it has gone (then never block)."""
            while not fetch_stop.is_set():
                try:
                    pages.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        def fetch() -> None:
            try:
                for page in self.client.pages(o, start, end, cfg.page_size):
                    if not offer(page) or self.stop.is_set():
                        return
                offer(None)
            except BaseException as exc:  # handed to the consumer, which raises it in the main thread
                offer(exc)

        def records() -> Iterator[Record]:
            pos = 0
            while True:
                if self.stop.is_set():
                    return  # finish the batch in hand; the checkpoint stays at the last complete page
                item = pages.get()
                if item is None:
                    state["complete"] = True
                    return
                if isinstance(item, Stopped):
                    return  # stopped while waiting to retry: nothing more was in hand
                if isinstance(item, BaseException):
                    raise item
                page: Page = item
                for ev in page.events:
                    pos += 1
                    yield Record(f"{org or 'event'} #{pos}", ev)
                if page.cursor is not None:
                    page_ends.append((pos, page.cursor[0]))
                else:
                    page_ends.append((pos, start))

        def settled(where: str) -> None:
            done = int(where.rsplit("#", 1)[1])
            self._advance_pages(org, res, page_ends, state, done)

        pipeline = self.make_pipeline(o)
        tracking = _Tracking(pipeline.db, pipeline.enricher, pipeline.batch_size, pipeline.organization,
                             pipeline.on_written)
        tracking.on_settled = settled
        thread = threading.Thread(target=fetch, name="sync-fetch", daemon=True)
        thread.start()
        bar_cm = self.progress(org, total) if self.progress else nullcontext(None)
        try:
            with bar_cm as bar:
                tracking.run(records(), res.summary, progress=bar.update if bar is not None else None)
        finally:
            fetch_stop.set()
            thread.join(10)
        res.pulled = res.summary.total
        self._count(org, res.summary)
        # Every record yielded is now settled (committed, duplicate or rejected).
        self._advance_pages(org, res, page_ends, state, res.pulled)
        if state["complete"]:
            self._advance(org, res, end, res.pulled - state["advanced_to"])
            res.caught_up = True

    def _advance_pages(self, org: str, res: OrgResult, page_ends: list[tuple[int, int]], state: dict[str, Any],
                       done: int) -> None:
        """Move the checkpoint to the last page whose every record is settled."""
        reach = None
        while state["done_pages"] < len(page_ends) and page_ends[state["done_pages"]][0] <= done:
            reach = page_ends[state["done_pages"]]
            state["done_pages"] += 1
        if reach is not None:
            self._advance(org, res, reach[1], reach[0] - state["advanced_to"])
            state["advanced_to"] = reach[0]

    def _advance(self, org: str, res: OrgResult, checkpoint: int, pulled: int) -> None:
        res.checkpoint = sync_state.advance(self.db, self.source, org, self.leases.holder, checkpoint, pulled,
                                            self.config.lease_ms)
        SYNC_LAG.labels(self.source, org).set(max(0.0, (now_ms() - res.checkpoint) / 1000))

    def _count(self, org: str, summary: Summary) -> None:
        record_ingest(summary, "sync")
        SYNC_EVENTS.labels(self.source, org, "accepted").inc(summary.accepted)
        SYNC_EVENTS.labels(self.source, org, "duplicate").inc(summary.duplicates)
        SYNC_EVENTS.labels(self.source, org, "rejected").inc(len(summary.rejected))


def _merge(total: OrgResult, res: OrgResult) -> None:
    s, r = total.summary, res.summary
    s.accepted += r.accepted
    s.duplicates += r.duplicates
    s.rejected.extend(r.rejected)
    total.pulled += res.pulled
    total.start = total.start if total.start is not None else res.start
    total.end = res.end if res.end is not None else total.end
    total.checkpoint = res.checkpoint if res.checkpoint is not None else total.checkpoint
    total.caught_up, total.error, total.skipped = res.caught_up, res.error, res.skipped
    total.seconds += res.seconds
