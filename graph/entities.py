"""Entity nodes by key or by name, batched for DataLoaders: one query per label per request tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.events import ENTITY_LABELS
from graph.db import Database

# The property each root field may look an entity up by (besides id); all indexed with organization.
LOOKUP_PROPS = {"User": ("username", "email"), "Admin": ("email",), "Group": ("name",), "System": ("hostname",),
                "Application": ("name",)}


@dataclass(frozen=True)
class EntityNode:
    label: str
    id: str
    props: dict[str, Any]

    @property
    def name(self) -> str | None:
        p = self.props
        return p.get("name") or p.get("username") or p.get("email") or p.get("hostname")


def _node(label: str, props: dict[str, Any]) -> EntityNode:
    return EntityNode(label, props["id"], {k: v for k, v in props.items() if not k.endswith("_at")})


def load_entities(db: Database, organization: str, label: str, ids: list[str]) -> dict[str, EntityNode]:
    assert label in ENTITY_LABELS
    rows = db.read(f"MATCH (n:{label}) WHERE n.organization = $org AND n.id IN $ids RETURN properties(n) AS p",
                   org=organization, ids=ids)
    return {r["p"]["id"]: _node(label, r["p"]) for r in rows}


def find_entity(db: Database, organization: str, label: str, **by: str | None) -> EntityNode | None:
    """An entity by id, or else by one of its lookup properties (exact; case-insensitive as a fallback)."""
    assert label in ENTITY_LABELS
    given = {k: v for k, v in by.items() if v is not None}
    if "id" in given:
        return load_entities(db, organization, label, [given["id"]]).get(given["id"])
    for prop in LOOKUP_PROPS.get(label, ()):
        if prop in given:
            rows = db.read(f"MATCH (n:{label}) WHERE n.organization = $org AND n.{prop} = $v "
                           "RETURN properties(n) AS p LIMIT 1", org=organization, v=given[prop])
            if not rows:
                rows = db.read(f"MATCH (n:{label}) WHERE n.organization = $org AND toLower(n.{prop}) = toLower($v) "
                               "RETURN properties(n) AS p LIMIT 1", org=organization, v=given[prop])
            return _node(label, rows[0]["p"]) if rows else None
    return None


def load_ip(db: Database, organization: str, address: str) -> bool:
    rows = db.read("MATCH (n:IPAddress {organization: $org, address: $a}) RETURN n.address AS a",
                   org=organization, a=address.strip().lower())
    return bool(rows)
