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
    "CREATE INDEX event_initiator_username IF NOT EXISTS FOR (e:Event) ON (e.f_initiated_by_username)",
    "CREATE INDEX event_username IF NOT EXISTS FOR (e:Event) ON (e.f_username)",
    "CREATE INDEX event_type IF NOT EXISTS FOR (e:Event) ON (e.event_type)",
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


def ensure_schema(db: Database) -> None:
    """Idempotent: safe on every start."""
    for stmt in STATEMENTS:
        db.write(stmt)
    db.write("CALL db.awaitIndexes(300)")
