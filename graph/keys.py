"""API keys, stored in Neo4j as (:ApiKey {id, hash, organizations, scope, name, created, revoked}).

Only a SHA-256 of the secret is stored; a presented key is looked up by that hash (a unique index) and the
hashes are compared again in constant time, so neither storage nor timing gives a key away.

Every revocation also bumps one counter, `(:ApiKeyEpoch {id: "keys"}).epoch`, in the same transaction: a process
that caches verified keys (app/key_cache.py) reads that counter at most once a second and drops its cache when
it moved, which bounds how long a revoked key keeps working on any replica. `verify_key_at` returns the counter
read in the same statement as the key, so a cached entry is never older than the epoch it was checked against.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from graph.db import Database

SCOPES = ("read", "ingest", "admin")
PREFIX = "ig_"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    organizations: tuple[str, ...]
    scope: str  # read < ingest < admin
    created: int  # epoch ms
    revoked: int | None

    def allows(self, scope: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(scope)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _key(row: dict) -> ApiKey:
    return ApiKey(row["id"], row["name"] or "", tuple(row["organizations"]), row["scope"], row["created"],
                  row.get("revoked"))


_FIELDS = "k.id AS id, k.name AS name, k.organizations AS organizations, k.scope AS scope, k.created AS created, " \
          "k.revoked AS revoked, k.hash AS hash"


def create_key(db: Database, organizations: list[str], scope: str = "read", name: str = "") -> tuple[ApiKey, str]:
    """A new key and its secret (shown once, never stored)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    orgs = sorted({o.strip() for o in organizations if o and o.strip()})
    if not orgs:
        raise ValueError("a key needs at least one organization")
    key_id = secrets.token_hex(6)
    secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    rows = db.write(
        f"CREATE (k:ApiKey {{id: $id, hash: $hash, organizations: $orgs, scope: $scope, name: $name, "
        f"created: $now}}) RETURN {_FIELDS}",
        id=key_id, hash=digest(secret), orgs=orgs, scope=scope, name=name, now=int(time.time() * 1000),
    )
    return _key(rows[0]), secret


_EPOCH = "OPTIONAL MATCH (ep:ApiKeyEpoch {id: 'keys'}) WITH coalesce(ep.epoch, 0) AS epoch "
_local_revocations = 0  # revocations made by this process: its own cache drops at once, without waiting


def local_revocations() -> int:
    return _local_revocations


def verify_key(db: Database, secret: str) -> ApiKey | None:
    """The live key for a presented secret, or None (unknown, malformed or revoked)."""
    return verify_key_at(db, secret)[0]


def verify_key_at(db: Database, secret: str) -> tuple[ApiKey | None, int]:
    """`verify_key` and the revocation epoch read in the same statement (epoch -1: nothing was read)."""
    if not secret or len(secret) > 200:
        return None, -1
    wanted = digest(secret)
    rows = db.read(f"{_EPOCH}OPTIONAL MATCH (k:ApiKey {{hash: $hash}}) RETURN epoch, {_FIELDS}", hash=wanted)
    epoch = rows[0]["epoch"]
    if rows[0]["id"] is None or not hmac.compare_digest(rows[0]["hash"], wanted) or rows[0]["revoked"] is not None:
        return None, epoch
    return _key(rows[0]), epoch


def key_epoch(db: Database) -> int:
    """How many revocations the database has seen (a counter only ever going up)."""
    return db.read(f"{_EPOCH}RETURN epoch")[0]["epoch"]


def list_keys(db: Database) -> list[ApiKey]:
    return [_key(r) for r in db.read(f"MATCH (k:ApiKey) RETURN {_FIELDS} ORDER BY k.created")]


def revoke_key(db: Database, key_id: str) -> bool:
    """Revoke and bump the epoch in one transaction: every replica's key cache sees it within its bound."""
    global _local_revocations
    rows = db.write("MATCH (k:ApiKey {id: $id}) WHERE k.revoked IS NULL SET k.revoked = $now "
                    "MERGE (ep:ApiKeyEpoch {id: 'keys'}) SET ep.epoch = coalesce(ep.epoch, 0) + 1 "
                    "RETURN k.id AS id", id=key_id, now=int(time.time() * 1000))
    _local_revocations += 1
    return bool(rows)


def live_keys(db: Database, key_ids: list[str]) -> set[str]:
    """Those of `key_ids` that exist and are not revoked (open subscriptions re-check their key with this)."""
    rows = db.read("MATCH (k:ApiKey) WHERE k.id IN $ids AND k.revoked IS NULL RETURN k.id AS id", ids=key_ids)
    return {r["id"] for r in rows}
