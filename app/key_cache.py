"""A per-process cache of verified API keys, so a request does not pay a Neo4j round trip to check its key.

The bound on revocation: a key revoked anywhere (another replica, the CLI) stops working on this process within
`EPOCH_SECONDS` (1 s) plus one epoch read, because `graph.keys.revoke_key` bumps a counter in Neo4j and this
cache reads that counter at most once per `EPOCH_SECONDS` — on the first request after the interval, while the
requests that need it wait — and empties itself when it moved. A revocation made by this very process empties
it at once. On a Neo4j cluster where replicas read from followers, add the followers' replication lag.

Only keys found valid are cached (unknown secrets still cost a lookup: caching them would delay new keys), by
their SHA-256 digest, never the secret; at most `MAX_ENTRIES`, each for at most `TTL_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from graph.db import Database
from graph.keys import ApiKey, digest, key_epoch, local_revocations, verify_key_at

EPOCH_SECONDS = 1.0
TTL_SECONDS = 300.0
MAX_ENTRIES = 10_000


class KeyCache:
    """verify(db, secret) -> ApiKey | None, like graph.keys.verify_key, from memory while nothing was revoked."""

    def __init__(self, epoch_seconds: float = EPOCH_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.epoch_seconds = epoch_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[ApiKey, int, float]] = {}  # digest -> (key, epoch it was read at, expiry)
        self._epoch = -1  # the database's revocation epoch as last read
        self._checked = float("-inf")
        self._local = local_revocations()

    def _current_epoch(self, db: Database) -> int:
        """The epoch, re-read when older than epoch_seconds (one reader; the others wait for its answer)."""
        if self._local != local_revocations():
            self._clear()
        if self.clock() - self._checked < self.epoch_seconds:
            return self._epoch
        with self._lock:
            if self.clock() - self._checked >= self.epoch_seconds:
                started = self.clock()
                epoch = key_epoch(db)
                if epoch != self._epoch:
                    self._entries.clear()
                self._epoch, self._checked = epoch, started
            return self._epoch

    def _clear(self) -> None:
        with self._lock:
            self._local = local_revocations()
            self._entries.clear()

    def peek(self, secret: str) -> ApiKey | None:
        """The cached key when answering needs no database read (fresh epoch, entry valid), else None."""
        if self._local != local_revocations() or self.clock() - self._checked >= self.epoch_seconds:
            return None
        hit = self._entries.get(digest(secret)) if len(secret) <= 200 else None
        if hit is not None and hit[1] >= self._epoch and hit[2] > self.clock():
            return hit[0]
        return None

    def verify(self, db: Database, secret: str) -> ApiKey | None:
        if not secret or len(secret) > 200:
            return None
        wanted = digest(secret)
        epoch = self._current_epoch(db)
        hit = self._entries.get(wanted)
        if hit is not None and hit[1] >= epoch and hit[2] > self.clock():
            return hit[0]
        local = local_revocations()
        key, read_at = verify_key_at(db, secret)
        if key is not None and read_at >= epoch and local == local_revocations():
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[wanted] = (key, read_at, self.clock() + TTL_SECONDS)
        return key
