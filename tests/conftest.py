"""Tests run against a real Neo4j: INSIGHTGRAPH_NEO4J_URI when set, otherwise the managed local one (started by
.ci/run, or here on first use). Every test writes into organizations of its own, so tests never see each other."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from app.ingest.enrich import Enricher
from app.ingest import Pipeline, Summary
from app.ingest.records import Record
from app.bootstrap import open_database
from app.settings import Settings
from graph.db import Database

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "events" / "directory-insights-sample.jsonl"
if not SAMPLE.exists():  # a CI clone has shared/ beside it as well; fall back to the repo's copy
    SAMPLE = Path(__file__).parent / "data" / "directory-insights-sample.jsonl"
SAMPLE_ORG = "5ce434e77128503e528e747b"
# Ids in the sample story: slucero joins Engineering, which grants GitHub and build-01; event REVOKE removes her.
SLUCERO = "5eda6ab54fd13527dcd9ccf9"
ENGINEERING = "5eda6c004fd13527dcd9cd10"
GITHUB = "5ed0aa0e4fd13527dcd9aa01"
BUILD01 = "5ed0bb0e4fd13527dcd9bb01"
SAMPLE_ADMIN = "5ce434e77128503e528e747c"
REVOKE = "5ee0000a4fd13527dcd9cf00"


def sample_events(org: str | None = None) -> list[dict[str, Any]]:
    """The shared sample events, re-homed to `org` so each test has its own copy."""
    events = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    if org:
        for ev in events:
            ev["organization"] = org
    return events


def new_org() -> str:
    return uuid.uuid4().hex[:24]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.close()


@pytest.fixture
def org() -> str:
    return new_org()


def ingest(db: Database, events: list[Any], batch_size: int = 1000, organization: str | None = None,
           enricher: Enricher | None = None) -> Summary:
    records = [Record(f"index {i}", copy.deepcopy(ev)) for i, ev in enumerate(events)]
    return Pipeline(db, enricher, batch_size, organization).run(records)


def snapshot(db: Database, org: str) -> dict[str, Any]:
    """Everything an organization holds in the graph, as comparable data (write tokens left out)."""
    volatile = {"batch", "lock", "ingested"}  # write tokens and the database clock at write time
    from app.model.events import ENTITY_LABELS

    # Label by label through each label's (organization, key) index: an unlabelled match would scan every node.
    keyed = [(label, "id") for label in ("Event", *ENTITY_LABELS)] + [("IPAddress", "address"), ("AccessPair", "key"),
                                                                  ("Identity", "name")]
    nodes: list[dict[str, Any]] = []
    rels: list[dict[str, Any]] = []
    for label, key in keyed:
        where = f"MATCH (a:{label}) WHERE a.organization = $org AND a.{key} IS NOT NULL"
        nodes += db.read(f"{where} RETURN labels(a) AS labels, properties(a) AS props", org=org)
        rels += db.read(
            f"""{where} MATCH (a)-[r]->(b)
               RETURN type(r) AS type, labels(a)[0] + ':' + coalesce(a.id, a.address, a.kind + ':' + a.name) AS a,
                      labels(b)[0] + ':' + coalesce(b.id, b.address, b.kind + ':' + b.name) AS b,
                      properties(r) AS props""",
            org=org,
        )
    def norm(value: Any) -> Any:  # the organization id itself is neutralised, so two orgs' graphs compare
        if isinstance(value, str):
            return "\n".join(sorted(value.replace(org, "ORG").split("\n")))
        if isinstance(value, list):
            return sorted(norm(v) for v in value)
        return value

    norm_nodes = sorted(
        json.dumps([sorted(n["labels"]), {k: norm(v) for k, v in n["props"].items() if k not in volatile}],
                   sort_keys=True)
        for n in nodes
    )
    norm_rels = sorted(json.dumps({k: norm(v) if k != "props" else {pk: norm(pv) for pk, pv in v.items()}
                                   for k, v in r.items()}, sort_keys=True) for r in rels)
    return {"nodes": norm_nodes, "rels": norm_rels}


@pytest.fixture(scope="session")
def app(settings: Settings, db: Database):
    """The ASGI app on the test database (the same wiring `insightgraph serve` uses)."""
    from app.server import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app):
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        yield c


def make_key(db: Database, *orgs: str, scope: str = "read") -> str:
    from graph.keys import create_key

    return create_key(db, list(orgs), scope, "test")[1]


@pytest.fixture
def key(db: Database, org: str) -> str:
    """A read key for the test's organization."""
    return make_key(db, org)
