"""Entity nodes for the GraphQL layer: by id in batches (DataLoaders: one query per label per request tick), and
by name through graph.traversals' lookup with a case-insensitive fallback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.model.events import ENTITY_LABELS
from graph.db import Database
from graph.traversals import LOOKUP_KEYS, get_entity


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
    """An entity by id, or else by the first given name property: exact first (`graph.traversals.get_entity`),
    then ignoring case."""
    assert label in ENTITY_LABELS
    given = {k: v for k, v in by.items() if v is not None}
    if "id" in given:
        return load_entities(db, organization, label, [given["id"]]).get(given["id"])
    for prop, value in given.items():
        exact = get_entity(db, organization, label, **{prop: value})  # validates prop against LOOKUP_KEYS
        if exact is not None:
            return EntityNode(exact.label, exact.id, exact.properties)
        assert prop in LOOKUP_KEYS[label]
        rows = db.read(f"MATCH (n:{label}) WHERE n.organization = $org AND toLower(n.`{prop}`) = toLower($v) "
                       "RETURN properties(n) AS p ORDER BY n.id LIMIT 1", org=organization, v=value)
        return _node(label, rows[0]["p"]) if rows else None
    return None


def load_ip(db: Database, organization: str, address: str) -> bool:
    return get_entity(db, organization, "IPAddress", address=address) is not None
