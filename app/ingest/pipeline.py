"""The ingest pipeline shared by the CLI, the GraphQL mutation and HTTP: parse, enrich, batch, write, report.

A record that fails validation is rejected with where it was and why, and never stops or spoils its neighbours;
accepted events are written in batches, each batch one transaction.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from app.ingest.enrich import Enricher
from app.ingest.records import Record
from app.model.errors import EventError
from app.model.events import Event, parse_event
from app.model.bounds import RecordTooCostly, check_record
from graph.db import RECORD_FAULTS, Database
from graph.write import write_batch


@dataclass(frozen=True)
class Rejection:
    where: str
    reason: str


@dataclass
class Summary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    results: list[tuple[str, str, str]] | None = None  # (where, id, accepted|duplicate|rejected) when asked for

    @property
    def total(self) -> int:
        return self.accepted + self.duplicates + len(self.rejected)


class IngestInterrupted(Exception):
    """The database failed mid-call: `summary` is exactly what was stored (and rejected) before; every record it
    does not list was not stored. The cause is chained."""

    def __init__(self, summary: Summary) -> None:
        super().__init__(f"ingest stopped after {summary.accepted + summary.duplicates} stored events")
        self.summary = summary


class Pipeline:
    def __init__(
        self,
        db: Database,
        enricher: Enricher | None = None,
        batch_size: int = 1000,
        organization: str | None = None,
        on_written: Callable[[list[Event]], None] | None = None,
        writers: int = 1,
    ) -> None:
        self.db = db
        self.enricher = enricher or Enricher(None)
        self.batch_size = batch_size
        self.organization = organization  # when set, events of any other organization are rejected
        self.on_written = on_written  # e.g. the subscription hub
        self.writers = max(1, writers)  # batches written at once, each by its own thread and transaction

    def run(self, records: Iterable[Record], summary: Summary | None = None,
            progress: Callable[[int], None] | None = None, per_event: bool = False) -> Summary:
        """Parse and enrich the next batch while the previous ones are being written (up to `writers` batches in
        flight, each its own transaction on its own thread, counted in order), so Python and Neo4j work at the same
        time and memory stays bounded. Concurrent batches are safe in any order: the connection, user and name
        locks serialise writers of the same story (graph/write.py)."""
        summary = summary or Summary()
        if per_event:
            summary.results = []
        with ThreadPoolExecutor(max_workers=self.writers, thread_name_prefix="ingest-writer") as writer:
            pending: deque[tuple[Future[Any], list[tuple[str, Event]]]] = deque()
            try:
                self._feed(records, summary, progress, writer, pending)
            except BaseException:
                self._drain(pending, summary, progress)  # count the batches in flight that did commit
                raise
            failure = self._drain(pending, summary, progress)
            if failure is not None:
                raise failure
        return summary

    def _drain(self, pending: deque[Any], summary: Summary,
               progress: Callable[[int], None] | None) -> Exception | None:
        """Settle every batch in flight, in order, each counted if it committed; the first failure (None: all
        committed), for the caller to raise once the others are counted."""
        failure: Exception | None = None
        while pending:
            try:
                self._settle(pending.popleft(), summary, progress)
            except Exception as exc:  # noqa: BLE001
                failure = failure or exc
        return failure

    def _feed(self, records: Iterable[Record], summary: Summary, progress: Callable[[int], None] | None,
              writer: ThreadPoolExecutor, pending: deque[tuple[Future[Any], list[tuple[str, Event]]]]) -> None:
        batch: list[tuple[str, Event]] = []
        for rec in records:
            if rec.error is not None:
                self._reject(summary, rec.where, rec.error, None)
            else:
                try:
                    check_record(rec.value)
                    ev = parse_event(rec.value, self.organization)
                    self.enricher.enrich(ev.raw)
                    ev.node_properties()
                    batch.append((rec.where, ev))
                except (EventError, RecordTooCostly, ValueError, TypeError, OverflowError, RecursionError) as exc:
                    # any failure of one record is that record's rejection, never the whole call's
                    eid = rec.value.get("id") if isinstance(rec.value, dict) else None
                    reason = str(exc) if isinstance(exc, (EventError, RecordTooCostly)) else \
                        f"cannot be stored ({type(exc).__name__}: {str(exc)[:200]})"
                    self._reject(summary, rec.where, reason, eid if isinstance(eid, str) and len(eid) <= 256
                                 else None)
            if len(batch) >= self.batch_size:
                if len(pending) >= self.writers:
                    self._settle(pending.popleft(), summary, progress)  # at most `writers` batches in flight
                pending.append((writer.submit(self._write, batch), batch))
                batch = []
        if batch:
            pending.append((writer.submit(self._write, batch), batch))

    def _reject(self, summary: Summary, where: str, reason: str, eid: str | None) -> None:
        summary.rejected.append(Rejection(where, reason))
        if summary.results is not None:
            summary.results.append((where, eid or "", "rejected"))

    def _write(self, batch: list[tuple[str, Event]]) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
        """(keys newly stored, keys refused by the database with why). A batch the database refuses for what is in
        it (not for being away) is written event by event, so only the offending events are rejected."""
        unique: dict[tuple[str, str], Event] = {}
        for _, ev in batch:
            unique.setdefault((ev.organization, ev.id), ev)
        failed: dict[tuple[str, str], str] = {}
        try:
            written = write_batch(self.db, list(unique.values()))
        except RECORD_FAULTS:
            written = set()
            for key, ev in unique.items():
                try:
                    written |= write_batch(self.db, [ev])
                except RECORD_FAULTS as exc:
                    failed[key] = f"cannot be stored ({type(exc).__name__}: {str(exc)[:200]})"
        if self.on_written:
            self.on_written([ev for key, ev in unique.items() if key in written])
        return written, failed

    def _settle(self, pending: tuple[Future[tuple[set[tuple[str, str]], dict[tuple[str, str], str]]],
                                     list[tuple[str, Event]]],
                summary: Summary, progress: Callable[[int], None] | None) -> None:
        """Wait for a batch's transaction and count it (its failure propagates: nothing of it was committed)."""
        future, batch = pending
        written, failed = future.result()
        seen: set[tuple[str, str]] = set()
        for where, ev in batch:
            key = (ev.organization, ev.id)
            if key in failed:
                self._reject(summary, where, failed[key], ev.id)
                continue
            status = "accepted" if key in written and key not in seen else "duplicate"
            seen.add(key)
            if status == "accepted":
                summary.accepted += 1
            else:
                summary.duplicates += 1
            if summary.results is not None:
                summary.results.append((where, ev.id, status))
        if progress:
            progress(len(batch))
