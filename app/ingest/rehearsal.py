"""Warming the write path: a freshly started Neo4j plans each write statement the first time it runs it and its
JVM compiles the write paths as they run, so without this the first real ingest after a start waits 10-26 s
(bench/README.md, "Measured (sessions 7 and 8)"). `serve` rehearses a representative ingest once connected, in a
transaction that is rolled back: nothing is committed, and nobody else sees it.

Not after an outage: a Neo4j that comes back is met at once by the clients' retries (the ingest's among them),
so a rehearsal cannot get ahead of them and only adds to the cold start's load (measured: the first answers after
recovery came later, not sooner).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter

from app.ingest.demo import generate
from app.model.events import Event, parse_event
from graph.db import Database
from graph.write import rehearse

log = logging.getLogger("insightgraph")

PER_TYPE = 4  # events of each type in the second, varied batch (the first is the start of a story, as ingests are)
MAX_ROUNDS = 8  # rehearsals until warm: a round no faster than 0.8x the one before it ends them


def rehearsal_batches() -> list[list[Event]]:
    """Three batches of a throwaway organization: the beginning of a demo history (directory setup, first sign-ins:
    what a new organization's first ingest holds), a few events of every type the demo knows (group and
    application grants, lockouts, RADIUS, LDAP, SSO, system logins), and those of them that grant nothing, so every
    write statement and resolution path runs once. Only the events kept are parsed. Batch sizes do not matter: the
    write path's plans do not depend on them (graph/write.py)."""
    org = f"rehearsal-{uuid.uuid4().hex}"
    history = list(generate(users=20, days=10, events=3000, seed=9, organization=org))
    per_type: Counter[str] = Counter()
    varied = []
    for raw in history:
        per_type[raw["event_type"]] += 1
        if per_type[raw["event_type"]] <= PER_TYPE:
            varied.append(raw)
    mixed = [parse_event(raw, org) for raw in varied]
    # Neo4j plans a statement that runs before any write in its transaction apart from the same one after a
    # write: a batch without association events (no connection locked first) has the duplicate check run first.
    plain = [ev for ev in mixed if not ev.node_properties().get("assoc_pair")]
    return [[parse_event(raw, org) for raw in history[:150]], mixed, plain]


class WritePathWarmer:
    """Rehearses the write path in a background thread, one rehearsal at a time, round after round while each is
    clearly faster than the last: on a fresh Neo4j the first round plans the statements and later ones let its JVM
    compile them (12 s, then about 3, 1.5, 1); on a warm one two rounds of well under a second end it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._running = threading.Lock()
        self._stopping = threading.Event()
        self.done = threading.Event()  # set when a rehearsal ended, successful or not

    def start(self) -> None:
        threading.Thread(target=self.run, name="write-path-warmer", daemon=True).start()

    def stop(self) -> None:
        """No batch after the one under way (at shutdown: its connection is then the last the driver waits for)."""
        self._stopping.set()

    def run(self) -> None:
        if not self._running.acquire(blocking=False):
            return  # one is already under way
        try:
            batches, rounds = rehearsal_batches(), list[float]()
            while len(rounds) < MAX_ROUNDS and (len(rounds) < 2 or rounds[-1] < 0.8 * rounds[-2]):
                started = time.monotonic()
                for batch in batches:
                    if self._stopping.is_set():
                        return
                    rehearse(self.db, [batch])
                rounds.append(time.monotonic() - started)
            log.info("write path warmed", extra={"seconds": round(sum(rounds), 1), "rounds": len(rounds),
                                                 "last_round_seconds": round(rounds[-1], 2)})
        except Exception as exc:  # noqa: BLE001 - only a speed-up: a failure costs the first ingest its warm-up
            log.warning("write path not warmed: %s", type(exc).__name__)
        finally:
            self.done.set()
            self._running.release()
