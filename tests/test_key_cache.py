"""The verified-key cache (app/key_cache.py): requests stop paying a key lookup, and a revocation made anywhere
still takes effect within the documented bound (EPOCH_SECONDS)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app import key_cache
from app.key_cache import KeyCache
from graph.db import Database
from graph.keys import create_key, revoke_key

ROOT = Path(__file__).resolve().parents[1]
Q = {"query": "{ eventCount }"}


def test_a_key_revoked_by_another_process_is_refused_over_http_within_the_bound(client, db: Database,
                                                                               org: str) -> None:
    """The revocation comes from a separate `insightgraph keys revoke` process (as from another replica):
    this server's cache learns of it through the epoch in Neo4j, not through its own memory."""
    api_key, secret = create_key(db, [org], "read", "cached")
    for _ in range(3):  # verified once, then served from the cache
        assert client.post("/graphql", json=Q, headers={"x-api-key": secret}).status_code == 200
    proc = subprocess.run([sys.executable, "-m", "app.cli", "keys", "revoke", api_key.id], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    revoked_at = time.monotonic()
    status = 200
    while status == 200 and time.monotonic() - revoked_at < 30:  # generous: the bound is EPOCH_SECONDS
        r = client.post("/graphql", json=Q, headers={"x-api-key": secret})
        status = r.status_code
        time.sleep(0.05)
    assert status == 401 and "revoked" in r.json()["message"]
    other_key, other = create_key(db, [org], "read", "still valid")
    assert client.post("/graphql", json=Q, headers={"x-api-key": other}).status_code == 200


def test_the_cache_answers_until_the_epoch_is_read_again(db: Database, org: str, monkeypatch) -> None:
    """With a controlled clock: a revocation elsewhere is invisible for less than epoch_seconds, then final;
    one made by this process empties the cache at once."""
    now = [1000.0]
    cache = KeyCache(epoch_seconds=1.0, clock=lambda: now[0])
    api_key, secret = create_key(db, [org], "read", "clocked")
    assert cache.verify(db, secret) == api_key
    assert cache.peek(secret) == api_key  # served from memory: no lookup

    monkeypatch.setattr(key_cache, "local_revocations", lambda: 0)  # as if revoked by another replica
    cache._local = 0
    assert revoke_key(db, api_key.id)
    now[0] += 0.9
    assert cache.verify(db, secret) == api_key  # inside the bound, the stale answer is allowed
    now[0] += 0.1
    assert cache.peek(secret) is None and cache.verify(db, secret) is None
    now[0] += 5
    assert cache.verify(db, secret) is None  # a revoked key is never cached again

    monkeypatch.undo()
    second, secret2 = create_key(db, [org], "read", "local")
    fresh = KeyCache(epoch_seconds=3600, clock=lambda: now[0])
    assert fresh.verify(db, secret2) == second
    assert revoke_key(db, second.id)  # this process: no waiting at all
    assert fresh.peek(secret2) is None and fresh.verify(db, secret2) is None
    assert fresh.verify(db, "ig_nonsense") is None and fresh.peek("ig_nonsense") is None
