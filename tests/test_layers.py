"""The layout's rules, checked by walking every module's imports (no Neo4j needed):

1. app/model/ is pure: no driver, no web framework, no CLI, no GeoIP, no HTTP client, nothing from graph/.
2. graph/ depends only on the model and the driver (and the standard library).
3. Only graph/ imports neo4j or writes Cypher.
4. No import circles among the project's modules; no two modules share a base name across packages.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "graph")
FORBIDDEN_IN_MODEL = ("neo4j", "starlette", "strawberry", "click", "geoip2", "httpx", "graph", "uvicorn",
                      "maxminddb", "user_agents", "prometheus_client", "graphql", "pydantic_settings", "tqdm")
GRAPH_MAY_IMPORT = ("app.model", "graph", "neo4j")
CYPHER = re.compile(r"\b(MATCH|MERGE)\s*\(|\bUNWIND\s+\$|\bDETACH\s+DELETE\b")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, runtime_only: bool = True) -> list[str]:
    """Modules imported by `path` (absolute names); `runtime_only` leaves out `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _is_stdlib(name: str) -> bool:
    return _top(name) in sys.stdlib_module_names or _top(name) == "__future__"


def test_the_model_is_pure() -> None:
    model = {m: p for m, p in MODULES.items() if m.startswith("app.model")}
    assert model, "app/model/ holds the domain model"
    offenders = [(m, i) for m, p in model.items() for i in _imports(p, runtime_only=False)
                 if _top(i) in FORBIDDEN_IN_MODEL or (i.startswith("app.") and not i.startswith("app.model"))]
    assert offenders == []


def test_graph_depends_only_on_the_model_and_the_driver() -> None:
    offenders = [(m, i) for m, p in MODULES.items() if m.startswith("graph") for i in _imports(p)
                 if not _is_stdlib(i) and not any(i == a or i.startswith(a + ".") for a in GRAPH_MAY_IMPORT)]
    assert offenders == []


def test_only_graph_imports_the_driver_or_writes_cypher() -> None:
    outside = {m: p for m, p in MODULES.items() if not m.startswith("graph")}
    drivers = [(m, i) for m, p in outside.items() for i in _imports(p, runtime_only=False) if _top(i) == "neo4j"]
    cypher = [m for m, p in outside.items() if CYPHER.search(p.read_text())]
    assert drivers == [] and cypher == []


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for m, p in MODULES.items():
        for i in _imports(p):
            while i and i not in MODULES:  # `from app.gql import schema` names a module; `app.model.x.Y` does not
                i = i.rpartition(".")[0]
            if i and i != m and not m.startswith(i + "."):  # a package importing its own submodule is fine
                graph[m].add(i)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for m in sorted(MODULES):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_no_two_modules_share_a_base_name() -> None:
    names: dict[str, list[str]] = defaultdict(list)
    for m, p in MODULES.items():
        if p.name != "__init__.py":
            names[p.stem].append(m)
    assert {n: ms for n, ms in names.items() if len(ms) > 1} == {}


@pytest.mark.parametrize("limit", [500])
def test_no_module_is_over_the_size_limit(limit: int) -> None:
    exempt = {"app.ingest.demo"}  # a generator of realistic stories: long, but one concept
    big = {m: n for m, p in MODULES.items() if m not in exempt and (n := len(p.read_text().splitlines())) > limit}
    assert big == {}
