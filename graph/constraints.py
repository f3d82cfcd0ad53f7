"""Constraints and indexes: identity is (organization, id) everywhere; indexes back the filters and traversals."""

from __future__ import annotations

from app.model.intervals import ACCESS_RELS
from app.model.events import ENTITY_LABELS
from graph.db import Database

STATEMENTS: list[str] = [
    "CREATE CONSTRAINT event_key IF NOT EXISTS FOR (e:Event) REQUIRE (e.organization, e.id) IS UNIQUE",
    "CREATE CONSTRAINT ip_key IF NOT EXISTS FOR (n:IPAddress) REQUIRE (n.organization, n.address) IS UNIQUE",
    "CREATE CONSTRAINT pair_key IF NOT EXISTS FOR (n:AccessPair) REQUIRE (n.organization, n.key) IS UNIQUE",
    "CREATE CONSTRAINT identity_key IF NOT EXISTS FOR (n:Identity) REQUIRE (n.organization, n.kind, n.name) IS UNIQUE",
    "CREATE CONSTRAINT apikey_hash IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.hash IS UNIQUE",
    "CREATE CONSTRAINT apikey_id IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.id IS UNIQUE",
    "CREATE CONSTRAINT apikey_epoch_id IF NOT EXISTS FOR (n:ApiKeyEpoch) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX event_org_ts IF NOT EXISTS FOR (e:Event) ON (e.organization, e.ts)",
    "CREATE INDEX event_org_ingested IF NOT EXISTS FOR (e:Event) ON (e.organization, e.ingested)",
    "CREATE INDEX event_pair IF NOT EXISTS FOR (e:Event) ON (e.organization, e.assoc_pair)",
    # No single-property Event indexes on f_initiated_by_username, f_username or event_type: no statement's plan
    # used them (every Event read also has the organization and a time range, or an id), and each cost an index
    # entry per event at ingest (bench/README.md, issue 14's levers). DROPPED removes them from older stores.
    *[
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE (n.organization, n.id) IS UNIQUE"
        for label in ENTITY_LABELS
    ],
    "CREATE INDEX user_username IF NOT EXISTS FOR (n:User) ON (n.organization, n.username)",
    "CREATE INDEX admin_email IF NOT EXISTS FOR (n:Admin) ON (n.organization, n.email)",
    "CREATE INDEX group_name IF NOT EXISTS FOR (n:Group) ON (n.organization, n.name)",
    "CREATE INDEX system_hostname IF NOT EXISTS FOR (n:System) ON (n.organization, n.hostname)",
    "CREATE INDEX application_name IF NOT EXISTS FOR (n:Application) ON (n.organization, n.name)",
    *[f"CREATE INDEX {rel.lower()}_pair IF NOT EXISTS FOR ()-[r:{rel}]-() ON (r.pair)" for rel in ACCESS_RELS],
]


DROPPED: tuple[str, ...] = ("event_initiator_username", "event_username", "event_type")


def ensure_schema(db: Database) -> None:
    """Idempotent: safe on every start."""
    for stmt in STATEMENTS:
        db.write(stmt)
    for name in DROPPED:
        db.write(f"DROP INDEX {name} IF EXISTS")
    db.write("CALL db.awaitIndexes(300)")
