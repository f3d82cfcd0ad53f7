"""The identity examples of docs/graph-model.md run as written on the sample events and return the tables shown
(only the organization id is replaced by the test's own)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import SAMPLE_ORG, ingest, sample_events

DOC = Path(__file__).resolve().parents[1] / "docs" / "graph-model.md"


def _examples() -> list[tuple[str, str, list[list[object]] | None]]:
    """(params map, query, rows or None for "no rows") for each cypher block of the identity section."""
    text = DOC.read_text()
    section = text[text.index("## Identity over time"):text.index("## Constraints and indexes")]
    out = []
    for m in re.finditer(r"```cypher\n:params (.*?)\n(.*?)```\n(.*?)(?=\n####|\Z)", section, re.S):
        params, query, after = m.group(1), m.group(2), m.group(3)
        lines = [ln for ln in after.splitlines() if ln.startswith("| `")]
        rows = [[json.loads(c.strip().strip("`")) for c in ln.strip("|").split("|")] for ln in lines]
        out.append((params, query, rows if rows else None))
    return out


def test_the_identity_examples_return_what_the_doc_shows(db, org):
    ingest(db, sample_events(org))
    examples = _examples()
    assert len(examples) == 3
    for params, query, rows in examples:
        values = db.read(f"RETURN {params.replace(SAMPLE_ORG, org)} AS p")[0]["p"]
        got = [list(r.values()) for r in db.read(query, **values)]
        assert got == (rows or []), query
