"""The fast executor (app/gql/executor.py) must answer exactly as graphql-core's own: same data, same errors with
the same paths, same null propagation — on a schema built to hit every branch, and on the real schema's queries."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Optional

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.gql.executor import SHARED, FastExecutor


@strawberry.type
class Leaf:
    name: str
    maybe: Optional[int]
    tags: list[str]
    loose: list[Optional[str]]

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return self.name.upper()

    @strawberry.field
    def broken(self) -> Optional[str]:
        raise ValueError(f"broken {self.name}")


setattr(Leaf, SHARED, True)  # as convert's result types: one Leaf object may answer several fields of a request


@strawberry.type
class Node:
    id: strawberry.ID
    child: Optional[Leaf]
    strict_child: Leaf
    children: list[Leaf]
    loose_children: list[Optional[Leaf]]


@dataclass
class LeafData:
    name: Any
    maybe: Any = None
    tags: Any = ()
    loose: Any = ()


def leaf(name: Any, **kw: Any) -> Leaf:
    d = LeafData(name, **kw)
    return Leaf(name=d.name, maybe=d.maybe, tags=list(d.tags), loose=list(d.loose))


class Partial:
    """Not a Leaf: it lacks `maybe` and `later`, as a resolver returning the wrong object would."""

    name, tags, loose = "partial", ["t"], []

    def broken(self) -> None:
        return None


SHARED_LEAF, SHARED_BAD = leaf("s", tags=["u"]), leaf(None)
NODES = {
    # one object in two places: projected once, answered at both (a bad one reported at both paths)
    "shared": Node(id=strawberry.ID("8"), child=SHARED_LEAF, strict_child=SHARED_LEAF, children=[SHARED_LEAF],
                   loose_children=[SHARED_LEAF]),
    "shared_bad": Node(id=strawberry.ID("9"), child=SHARED_BAD, strict_child=SHARED_BAD, children=[],
                       loose_children=[]),
    "ok": Node(id=strawberry.ID("1"), child=leaf("a", maybe=3, tags=["x", "y"], loose=["p", None]),
               strict_child=leaf("b"), children=[leaf("c"), leaf("d", maybe=7)], loose_children=[None, leaf("e")]),
    # a None where the schema says non-null, at each level: graphql-core's errors and null propagation
    "null_leaf": Node(id=strawberry.ID("2"), child=leaf(None), strict_child=leaf("f"), children=[],
                      loose_children=[leaf(None)]),
    "null_strict_child": Node(id=strawberry.ID("3"), child=None, strict_child=None, children=[], loose_children=[]),  # type: ignore[arg-type]
    "null_in_list": Node(id=strawberry.ID("4"), child=None, strict_child=leaf("g"), children=[None],  # type: ignore[list-item]
                         loose_children=[]),
    "null_tag": Node(id=strawberry.ID("5"), child=leaf("h", tags=["ok", None]), strict_child=leaf("i"),
                     children=[leaf("j", tags=[None])], loose_children=[]),
    "missing_attribute": Node(id=strawberry.ID("7"), child=Partial(), strict_child=leaf("l"),  # type: ignore[arg-type]
                              children=[Partial()], loose_children=[]),  # type: ignore[list-item]
    "bad_scalar": Node(id=strawberry.ID("6"), child=leaf({"not": "a string"}), strict_child=leaf("k"),  # type: ignore[arg-type]
                       children=[], loose_children=[]),
}


@strawberry.type
class Query:
    @strawberry.field
    def node(self, key: str) -> Optional[Node]:
        return NODES[key]

    @strawberry.field
    def nodes(self) -> list[Node]:
        return list(NODES.values())


FIELDS = ("{ __typename name maybe tags loose later broken }")
QUERY = ("query($key: String!) { node(key: $key) { __typename id child " + FIELDS + " strictChild " + FIELDS
         + " children " + FIELDS + " looseChildren " + FIELDS + " alias: child { name } } }")


def run(executor: type, query: str, variables: dict[str, Any] | None = None, schema: Any = None,
        context: Any = None) -> Any:
    if schema is None:
        schema = strawberry.Schema(query=Query, execution_context_class=executor)
    else:
        schema.execution_context_class = executor

    async def execute() -> Any:
        result = await schema.execute(query, variable_values=variables, context_value=context)
        await asyncio.sleep(0.01)  # siblings of a bubbled error settle in the background, as in a server
        return result
    result = asyncio.run(execute())
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return json.dumps(result.data, sort_keys=True, default=str), errors


@pytest.mark.parametrize("key", sorted(NODES))
def test_same_answer_and_errors_as_graphql_core(key: str) -> None:
    ours = run(FastExecutor, QUERY, {"key": key})
    theirs = run(StrawberryGraphQLCoreExecutionContext, QUERY, {"key": key})
    assert ours == theirs
    if key in ("ok", "shared"):
        assert not ours[1] or all("broken" in m for m, _ in ours[1])
        assert ('"tags": ["x", "y"]' if key == "ok" else '"tags": ["u"]') in ours[0]
    else:
        assert any("broken" not in m for m, _ in ours[1]), "each bad case must produce a non-resolver error"


BASIC = "{ name maybe tags loose }"  # only attribute reads: the compiled projector answers these
QUERY_BASIC = ("query($key: String!) { node(key: $key) { id child " + BASIC + " strictChild " + BASIC + " children "
               + BASIC + " looseChildren " + BASIC + " alias: child { name } } }")


@pytest.mark.parametrize("key", sorted(NODES))
def test_the_projector_answers_as_graphql_core(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A selection of basic fields only is completed by one compiled projector per object; any value it does not
    take (null in a non-null place, a value that does not coerce, a wrong object) falls back field by field, so
    data, errors and paths stay graphql-core's."""
    import app.gql.executor as executor

    projected: list[Any] = []
    real = executor._generate

    def spy(steps: Any) -> Any:
        projector = real(steps)

        def recording(source: Any, memo: Any) -> Any:
            out = projector(source, memo)
            projected.append(source)
            return out
        return recording
    monkeypatch.setattr(executor, "_generate", spy)
    monkeypatch.setattr(executor, "_GENERATED", type(executor._GENERATED)())  # generated afresh, through the spy
    ours = run(FastExecutor, QUERY_BASIC, {"key": key})
    assert ours == run(StrawberryGraphQLCoreExecutionContext, QUERY_BASIC, {"key": key})
    if key in ("ok", "shared"):
        assert not ours[1] and NODES[key] in projected  # the whole node in one projector call
        assert key == "shared" or '"tags": ["x", "y"]' in ours[0] and '"loose": ["p", null]' in ours[0]
    else:
        assert ours[1] and NODES[key] not in projected, "each bad case must produce an error, by the slow path"


def test_null_propagates_through_a_list_of_nodes() -> None:
    query = "{ nodes { id strictChild { name } children { name tags } } }"
    ours = run(FastExecutor, query)
    assert ours == run(StrawberryGraphQLCoreExecutionContext, query)
    assert json.loads(ours[0]) is None  # strictChild null in one node: [Node!]! cannot hold it, so data is null


def test_a_resolvers_list_of_objects_is_projected_in_one_pass() -> None:
    """`nodes` (a resolver's list) with a selection every node can answer: one projector pass, graphql-core's
    answer; with a bad node in it, item by item (graphql-core's errors, as above)."""
    good = "{ nodes { id looseChildren { maybe } } }"
    ours = run(FastExecutor, good)
    assert ours == run(StrawberryGraphQLCoreExecutionContext, good)
    assert not ours[1] and len(json.loads(ours[0])["nodes"]) == len(NODES)
    bad = "{ nodes { id child { name } } }"  # child.name is null in one node, a dict in another
    ours = run(FastExecutor, bad)
    assert ours == run(StrawberryGraphQLCoreExecutionContext, bad) and ours[1]


REAL = {
    "page": "{ events(first: 50) { edges { cursor node { id timestamp eventType service success clientIp "
            "geo { countryCode regionName } initiatedBy { __typename id ... on User { username } } "
            "target { __typename id } accessed { __typename id } raw } } pageInfo { hasNextPage endCursor } totalCount } }",
    "lifecycle": "query($u: ID!) { user(id: $u) { id username lifecycle { id timestamp eventType kind "
                 "changes { field from to } target { label id name entity { __typename id } } "
                 "association { op relationship source { id name } target { id name } } } } }",
    "access": "query($u: ID!, $t: DateTime!) { user(id: $u) { access(asOf: $t) { resource { label type id name } "
              "paths { kind since until hops { relationship since until grantedByEvent "
              "source { id name } target { id name } grantedBy { id eventType initiator { type name } } } } } } }",
    "accessPath": "query($u: ID!, $r: ID!, $t: DateTime!) { user(id: $u) { accessPath(to: $r, asOf: $t) { kind "
                  "hops { relationship since source { id } target { id } } } } }",
    "unknown": "query($u: ID!) { user(id: $u) { id lifecycle { id } } }",
}


def test_real_schema_same_answers(db: Any, org: str) -> None:
    """Every field shape of the real schema that the fast path takes, on the sample story, against graphql-core."""
    from app.auth import Principal
    from app.gql.context import Context
    from app.gql.entity_types import wrap
    from app.gql.schema import schema
    from graph.keys import ApiKey
    from tests.conftest import BUILD01, SLUCERO, ingest, sample_events

    ingest(db, sample_events(org))
    key = ApiKey("k", "test", (org,), "read", 0, None)
    variables = {"u": SLUCERO, "r": BUILD01, "t": "2020-06-10T00:00:00Z"}
    try:
        for name, query in REAL.items():
            used = {k: v for k, v in variables.items() if f"${k}" in query}
            if name == "unknown":
                used = {"u": "no-such-user"}
            answers = [run(cls, query, used, schema, Context(db=db, principal=Principal(key, org), services=None,
                                                               wrap=wrap))
                       for cls in (StrawberryGraphQLCoreExecutionContext, FastExecutor)]
            assert answers[0] == answers[1], name
            assert not answers[1][1], (name, answers[1][1])
            data = json.loads(answers[1][0])
            if name == "unknown":
                assert data == {"user": None}
            else:  # a real answer, not an empty one that any executor would get right
                assert (BUILD01 if name.startswith("access") else SLUCERO if name == "lifecycle" else '"cursor"') \
                    in answers[1][0], name
    finally:
        schema.execution_context_class = FastExecutor


def test_user_traversals_start_at_once_and_the_first_looks_the_user_up(db: Any, org: str) -> None:
    """`user(id:)` starts the traversals its selection asks for at once (app/gql/prefetch.py), the first one looking
    the user up inside its own read: each asked once, one database read per traversal and none for the lookup,
    answers unchanged; an unknown id is still null; a failing traversal is that field's error, not the user's."""
    import threading
    import time

    import graph
    import graph.db
    from app.auth import Principal
    from app.gql.context import Context
    from app.gql.entity_types import wrap
    from app.gql.schema import schema
    from graph.keys import ApiKey
    from tests.conftest import SLUCERO, ingest, sample_events

    ingest(db, sample_events(org))
    calls: list[tuple[str, float, float]] = []
    reads: list[str] = []
    lock = threading.Lock()

    class Recording(Context):
        async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
            def timed() -> Any:
                start = time.monotonic()
                if fn is graph.with_entity:
                    time.sleep(0.2)  # a slow first traversal: the others must not wait for it
                try:
                    return fn(*args, **kwargs)
                finally:
                    with lock:
                        calls.append((fn.__name__, start, time.monotonic()))
            return await super().run(timed)

    real_read = graph.db.Database.read

    def counted(self: Any, query: str, **params: Any) -> Any:
        with lock:
            reads.append(query)
        return real_read(self, query, **params)

    key = ApiKey("k", "test", (org,), "read", 0, None)
    query = ("query($u: ID!) { user(id: $u) { id username lifecycle { id } now: access { resource { id } } "
             "then: access(asOf: \"2020-06-10T00:00:00Z\") { resource { id } } } }")

    def ask(uid: str, q: str = query) -> Any:
        calls.clear()
        reads.clear()
        ctx = Recording(db=db, principal=Principal(key, org), services=None, wrap=wrap)
        graph.db.Database.read = counted  # type: ignore[method-assign]
        try:
            return asyncio.run(schema.execute(q, variable_values={"u": uid}, context_value=ctx))
        finally:
            graph.db.Database.read = real_read  # type: ignore[method-assign]

    plain = run(StrawberryGraphQLCoreExecutionContext, query, {"u": SLUCERO}, schema,
                Context(db=db, principal=Principal(key, org), services=None, wrap=wrap))
    schema.execution_context_class = FastExecutor
    result = ask(SLUCERO)
    assert not result.errors, result.errors
    assert json.dumps(result.data, sort_keys=True, default=str) == plain[0]
    assert sorted(name for name, _, _ in calls) == ["access_as_of", "access_as_of", "with_entity"], calls
    assert len(reads) == 3, reads  # three traversals, the lookup inside the first
    first_end = next(end for name, _, end in calls if name == "with_entity")
    assert all(start < first_end for _, start, _ in calls), calls  # the others started beside it
    assert result.data["user"]["username"] == "slucero" and result.data["user"]["lifecycle"]
    assert result.data["user"]["then"]

    assert ask("no-such-user").data == {"user": None}

    from graph.db import QueryTimeout

    def too_slow(*_: Any) -> Any:
        raise QueryTimeout("the query took longer than its time budget")
    real_path = graph.access_path
    graph.access_path = too_slow  # the table asks through the module: this is what the resolver would run
    try:
        broken = ask(SLUCERO, "query($u: ID!) { user(id: $u) { username accessPath(to: \"x\") { kind } } }")
    finally:
        graph.access_path = real_path
    assert [(e.message, e.path) for e in broken.errors] == [
        ("the query took longer than its time budget", ["user", "accessPath"])]
