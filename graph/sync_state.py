"""Sync checkpoints and leases, one (:SyncState {source, organization}) node per pulled organization.

The checkpoint is an epoch-ms instant before which every event of that source and organization is stored. It is
written only by the lease holder (the write is conditional on the lease), so a collector that lost its lease
cannot move it, and only after the events that reached it were committed (the caller's rule).

The lease uses the database clock (`timestamp()`), so collectors on machines with skewed clocks agree on expiry.
Each statement first writes the node (taking its write lock) and only then reads the holder, so two collectors
racing for one lease serialise and exactly one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.db import Database

_CONSTRAINT = ("CREATE CONSTRAINT sync_state_key IF NOT EXISTS FOR (s:SyncState) "
               "REQUIRE (s.source, s.organization) IS UNIQUE")

_LOCK = """
MERGE (s:SyncState {source: $source, organization: $org})
ON CREATE SET s.events_pulled = 0, s.created = timestamp()
SET s.lock = $holder
"""

_ACQUIRE = """
MATCH (s:SyncState {source: $source, organization: $org})
WITH s, timestamp() AS now
WITH s, now, (s.lease_holder IS NULL OR s.lease_holder = $holder OR s.lease_until < now) AS free
SET s.lease_holder = CASE WHEN free THEN $holder ELSE s.lease_holder END,
    s.lease_until = CASE WHEN free THEN now + $ttl ELSE s.lease_until END
RETURN free, s.lease_holder AS holder, s.lease_until AS until, s.checkpoint AS checkpoint
"""

_RENEW = """
MATCH (s:SyncState {source: $source, organization: $org})
WHERE s.lease_holder = $holder AND s.lease_until >= timestamp()
SET s.lease_until = timestamp() + $ttl
RETURN s.lease_until AS until
"""

_ADVANCE = """
MATCH (s:SyncState {source: $source, organization: $org})
WHERE s.lease_holder = $holder AND s.lease_until >= timestamp()
SET s.checkpoint = CASE WHEN s.checkpoint IS NULL OR $checkpoint > s.checkpoint THEN $checkpoint
                        ELSE s.checkpoint END,
    s.events_pulled = coalesce(s.events_pulled, 0) + $pulled,
    s.lease_until = timestamp() + $ttl,
    s.updated = timestamp()
RETURN s.checkpoint AS checkpoint
"""

_RELEASE = """
MATCH (s:SyncState {source: $source, organization: $org})
WHERE s.lease_holder = $holder
REMOVE s.lease_holder, s.lease_until
"""

_RESULT = """
MERGE (s:SyncState {source: $source, organization: $org})
ON CREATE SET s.events_pulled = 0, s.created = timestamp()
SET s.last_error = $error, s.last_run = timestamp(),
    s.last_error_at = CASE WHEN $error IS NULL THEN s.last_error_at ELSE timestamp() END,
    s.last_success_at = CASE WHEN $error IS NULL THEN timestamp() ELSE s.last_success_at END
"""

_ALL = """
MATCH (s:SyncState)
RETURN s.source AS source, s.organization AS organization, s.checkpoint AS checkpoint,
       s.events_pulled AS events_pulled, s.last_error AS last_error, s.last_error_at AS last_error_at,
       s.last_success_at AS last_success_at, s.lease_holder AS lease_holder, s.lease_until AS lease_until,
       timestamp() AS now
ORDER BY source, organization
"""


class LeaseLost(RuntimeError):
    """Another collector holds the lease now (ours expired): stop pulling, it carries on from the checkpoint."""


@dataclass(frozen=True)
class Lease:
    acquired: bool
    holder: str | None  # the current holder (us when acquired)
    until: int | None  # epoch ms, database clock
    checkpoint: int | None


@dataclass(frozen=True)
class SyncStatus:
    source: str
    organization: str
    checkpoint: int | None
    events_pulled: int
    last_error: str | None
    last_error_at: int | None
    last_success_at: int | None
    lease_holder: str | None  # only while the lease is live
    lease_until: int | None
    now: int  # the database clock when read


def ensure_sync_schema(db: Database) -> None:
    db.write(_CONSTRAINT)


def acquire(db: Database, source: str, org: str, holder: str, ttl_ms: int) -> Lease:
    """Take the lease if it is free, ours or expired; otherwise say who holds it until when."""

    def work(tx: Any) -> Lease:
        tx.run(_LOCK, source=source, org=org, holder=holder).consume()
        row = tx.run(_ACQUIRE, source=source, org=org, holder=holder, ttl=ttl_ms).single()
        return Lease(bool(row["free"]), row["holder"], row["until"], row["checkpoint"])

    return db.write_tx(work)


def renew(db: Database, source: str, org: str, holder: str, ttl_ms: int) -> bool:
    """Extend a live lease of ours; False when it was lost (expired or taken over)."""
    return bool(db.write(_RENEW, source=source, org=org, holder=holder, ttl=ttl_ms))


def advance(db: Database, source: str, org: str, holder: str, checkpoint: int, pulled: int, ttl_ms: int) -> int:
    """Move the checkpoint forward (never back) and renew the lease; LeaseLost when the lease is not ours."""
    rows = db.write(_ADVANCE, source=source, org=org, holder=holder, checkpoint=checkpoint, pulled=pulled,
                    ttl=ttl_ms)
    if not rows:
        raise LeaseLost(f"the sync lease for {org} at {source} is no longer held by this process")
    return rows[0]["checkpoint"]


def release(db: Database, source: str, org: str, holder: str) -> None:
    db.write(_RELEASE, source=source, org=org, holder=holder)


def record_result(db: Database, source: str, org: str, error: str | None) -> None:
    """The outcome of a poll: the last error (None clears it) and when."""
    db.write(_RESULT, source=source, org=org, error=error)


def checkpoint(db: Database, source: str, org: str) -> int | None:
    rows = db.read("MATCH (s:SyncState {source: $source, organization: $org}) RETURN s.checkpoint AS c",
                   source=source, org=org)
    return rows[0]["c"] if rows else None


def all_status(db: Database) -> list[SyncStatus]:
    out = []
    for r in db.read(_ALL):
        live = r["lease_until"] is not None and r["lease_until"] >= r["now"]
        out.append(SyncStatus(r["source"], r["organization"], r["checkpoint"], r["events_pulled"] or 0,
                              r["last_error"], r["last_error_at"], r["last_success_at"],
                              r["lease_holder"] if live else None, r["lease_until"] if live else None, r["now"]))
    return out
