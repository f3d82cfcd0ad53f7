"""EntityNode lookups: by id in batches (the GraphQL DataLoaders: one query per label per request tick), by id under any
label, and by one name property of a label (exact through its index first, then ignoring case)."""

from __future__ import annotations

from typing import Any

from app.model.entities import BY_LABEL, ENTITY_LABELS, INTERNAL_PROPS, LOOKUP_KEYS, normalise_ip
from app.model.results import EntityNode
from graph.db import Database

_BY_ID = ("CALL () {\n" + "\n  UNION ALL\n".join(
    f"  MATCH (n:{label} {{organization: $org, id: $id}}) RETURN n" for label in ENTITY_LABELS
) + "\n}\nRETURN labels(n)[0] AS label, n.id AS id, properties(n) AS props")


def _lookup_query(label: str, key: str, ignore_case: bool = False) -> str:
    kind = BY_LABEL[label]
    assert key == kind.key or key in kind.lookup_keys
    match = (f"MATCH (n:{label}) WHERE n.organization = $org AND toLower(n.`{key}`) = toLower($value)" if ignore_case
             else f"MATCH (n:{label} {{organization: $org, `{key}`: $value}})")
    return f"{match}\nRETURN labels(n)[0] AS label, n.{kind.key} AS id, properties(n) AS props ORDER BY id LIMIT $limit"


def _entity(row: dict[str, Any]) -> EntityNode:
    props = {k: v for k, v in row["props"].items() if k not in INTERNAL_PROPS}
    return EntityNode(row["label"], row["id"], props)


def find_by_id(db: Database, organization: str, entity_id: str) -> EntityNode | None:
    """The entity with this id under any label (a typed label before the generic Resource)."""
    rows = db.read(_BY_ID, org=organization, id=entity_id)
    rows.sort(key=lambda r: ENTITY_LABELS.index(r["label"]))
    return _entity(rows[0]) if rows else None


def find_entities(db: Database, organization: str, label: str | None, id: str | None = None, limit: int = 100,
                  ignore_case: bool = False, **name: str) -> list[EntityNode]:
    """Entities by id (any label when `label` is None) or by one name property of the label (LOOKUP_KEYS: user by
    username or email, admin by email, group by name, system by hostname, application by name, IP by address).
    Exact match unless `ignore_case`; an unknown label or property is a ValueError."""
    if label is not None and label not in LOOKUP_KEYS:
        raise ValueError(f"unknown entity label {label!r}")
    if not ((id is not None and not name) or (id is None and len(name) == 1)):
        raise ValueError("give exactly one of id or a single name property")
    if id is not None:
        if label is None:
            found = find_by_id(db, organization, id)
            return [found] if found else []
        key, value = BY_LABEL[label].key, id
    else:
        if label is None:
            raise ValueError("looking up by name needs a label")
        ((key, value),) = name.items()
        if key not in LOOKUP_KEYS[label]:
            raise ValueError(f"{label} cannot be looked up by {key!r} (only {', '.join(('id',) + LOOKUP_KEYS[label])})")
    if label == "IPAddress":
        value = normalise_ip(value)
    rows = db.read(_lookup_query(label, key, ignore_case), org=organization, value=value, limit=int(limit))
    return [_entity(r) for r in rows]


def get_entity(db: Database, organization: str, label: str | None, id: str | None = None,
               **name: str) -> EntityNode | None:
    """One entity (see find_entities); when a name matches several, the one with the smallest id."""
    found = find_entities(db, organization, label, id, limit=1, **name)
    return found[0] if found else None


def find_entity(db: Database, organization: str, label: str, **by: str | None) -> EntityNode | None:
    """An entity by id, or else by the first given name property: exact first (its index), then ignoring case."""
    given = {k: v for k, v in by.items() if v is not None}
    if "id" in given:
        return load_entities(db, organization, label, [given["id"]]).get(given["id"])
    for prop, value in given.items():
        return (get_entity(db, organization, label, **{prop: value})
                or next(iter(find_entities(db, organization, label, limit=1, ignore_case=True, **{prop: value})), None))
    return None


def load_entities(db: Database, organization: str, label: str, ids: list[str]) -> dict[str, EntityNode]:
    """The entities of one label among `ids`, by id (one query)."""
    assert label in ENTITY_LABELS
    rows = db.read(f"MATCH (n:{label}) WHERE n.organization = $org AND n.id IN $ids "
                   "RETURN labels(n)[0] AS label, n.id AS id, properties(n) AS props", org=organization, ids=ids)
    return {r["id"]: _entity(r) for r in rows}


def has_ip(db: Database, organization: str, address: str) -> bool:
    return get_entity(db, organization, "IPAddress", address=address) is not None


# The lookup of an entity by id folded into another read of the same request: one statement, one round trip.
# The other read runs unchanged as a subquery (its ORDER BY holds: a subquery's rows come out in its order for the
# one row driving it); `OPTIONAL CALL` keeps the entity's row when it returns nothing, and `__row` tells its rows
# from that one row of nulls.
_ANCHORED = """
OPTIONAL MATCH (__n:{label} {{organization: $anchor_org, id: $anchor_id}})
WITH __n {{.id, label: labels(__n)[0], props: properties(__n)}} AS __node
OPTIONAL CALL () {{
  CALL () {{
{query}
  }}
  RETURN *, true AS __row
}}
RETURN *
"""


class Anchored:
    """A Database for one traversal of an entity (label, id) that also looks the entity up, inside its first
    read: `user(id:) { lifecycle }` then costs one round trip where the lookup and the traversal took two. `node`
    holds the entity (None: there is none) once that read has run; every later read goes to `db` as it is."""

    def __init__(self, db: Database, organization: str, label: str, entity_id: str) -> None:
        assert label in ENTITY_LABELS
        self.db, self.organization, self.label, self.entity_id = db, organization, label, entity_id
        self.node: EntityNode | None = None
        self.looked_up = False

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        if self.looked_up:
            return self.db.read(query, **params)
        rows = self.db.read(_ANCHORED.format(label=self.label, query=query), anchor_org=self.organization,
                            anchor_id=self.entity_id, **params)
        self.looked_up = True
        first = rows[0]["__node"] if rows else None  # a map projection of no node is null
        if first is not None:
            self.node = _entity(first)
        return [{k: v for k, v in r.items() if k not in ("__node", "__row")} for r in rows if r["__row"]]

    def __getattr__(self, name: str) -> Any:  # read_tx, query_timeout, ...: the real database's
        return getattr(self.db, name)


def with_entity(db: Database, organization: str, label: str, entity_id: str, traversal: Any,
                *args: Any) -> tuple[EntityNode | None, Any]:
    """(the entity, `traversal(db, organization, entity_id, *args)`), the lookup inside the traversal's first read
    (`Anchored`). For a missing entity the traversal's answer is whatever it makes of no rows (dropped by callers)."""
    anchored = Anchored(db, organization, label, entity_id)
    answer = traversal(anchored, organization, entity_id, *args)
    if not anchored.looked_up:  # a traversal that did not read: look the entity up on its own
        return find_entity(db, organization, label, id=entity_id), answer
    return anchored.node, answer
