"""Parsing and validation of a GraphQL document off the event loop, after a size check.

Strawberry parses and validates inside the async `execute`, on the event loop: a 40 MB comment-only query or an
expensive document then stalls every request, health checks included. This extension does both in a worker thread
and hands strawberry the results (it skips its own parse when a document is set, and its own validation when
errors — even none — are recorded), adding the introspection bound (`app.gql.limits`) and the request-bound cost
rule (`app.gql.cost`).

A client sends the same few documents again and again: a parsed document is kept by its text, and a document
that validated cleanly by its text and the integer variables (the only request values a rule reads: `first: $n`
in the cost rule), so a repeated request skips both thread hops. Both caches are bounded (least recently used
out); a document with errors is never cached.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, AsyncIterator, Hashable

from graphql import GraphQLError, parse
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from app.gql.cost import cost_rule
from app.gql.limits import IntrospectionLimit

MAX_QUERY_CHARS = 100_000  # a query document (variables are bounded by the body size)
MAX_TOKENS = 5000


CACHE_ENTRIES = 512
CACHE_MAX_CHARS = 20_000  # longer documents are parsed and validated afresh every time


class _LRU:
    def __init__(self, size: int) -> None:
        self.size, self.items = size, OrderedDict[Hashable, Any]()

    def get(self, key: Hashable) -> Any:
        value = self.items.get(key)
        if value is not None:
            self.items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)


_PARSED = _LRU(CACHE_ENTRIES)
_VALID = _LRU(CACHE_ENTRIES)


def _validation_key(query: Any, variables: Any) -> Hashable | None:
    if not isinstance(query, str) or len(query) > CACHE_MAX_CHARS:
        return None
    ints = tuple(sorted((k, v) for k, v in _variables(variables).items()
                        if isinstance(v, int) and not isinstance(v, bool)))
    return query, ints


def validated(query: Any, variables: Any) -> Any:
    """The parsed document of a query that validated cleanly before with the same integer variables, else None."""
    key = _validation_key(query, variables)
    document = _PARSED.get(query) if key is not None else None
    return document if document is not None and _VALID.get(key) is document else None


class OffLoopValidation(SchemaExtension):
    async def on_parse(self) -> AsyncIterator[None]:  # type: ignore[override]
        ctx = self.execution_context
        if ctx.graphql_document is None and isinstance(ctx.query, str):
            if len(ctx.query) > MAX_QUERY_CHARS:
                raise GraphQLError(f"the query is longer than {MAX_QUERY_CHARS} characters")
            document = _PARSED.get(ctx.query)
            if document is None:
                document = await run_in_threadpool(parse, ctx.query, max_tokens=MAX_TOKENS)
                if len(ctx.query) <= CACHE_MAX_CHARS:
                    _PARSED.put(ctx.query, document)
            ctx.graphql_document = document
            check_variables(ctx.graphql_document, ctx.variables)
        yield

    async def on_validate(self) -> AsyncIterator[None]:  # type: ignore[override]
        ctx = self.execution_context
        if ctx.graphql_document is not None and ctx.pre_execution_errors is None:
            key = _validation_key(ctx.query, ctx.variables)
            if key is not None and _VALID.get(key) is ctx.graphql_document:
                ctx.pre_execution_errors = []
            else:
                rules: tuple[Any, ...] = (*ctx.validation_rules, IntrospectionLimit,
                                          cost_rule(_variables(ctx.variables)))
                ctx.pre_execution_errors = await run_in_threadpool(validate_document, ctx.schema._schema,
                                                                   ctx.graphql_document, rules)
                if key is not None and not ctx.pre_execution_errors:
                    _VALID.put(key, ctx.graphql_document)
        yield


def _variables(variables: Any) -> dict[str, Any]:
    return variables if isinstance(variables, dict) else {}


MAX_VARIABLE_NESTING = 100


def decode_body(data: str | bytes) -> object:
    """A GraphQL request body: orjson first; the stdlib for what only it accepts (lone surrogate escapes); too deep
    is a JSONDecodeError (the view's 400), never a RecursionError (a 500)."""
    import json

    from app.model.jsonutil import JSONDecodeError, loads

    try:
        return loads(data)
    except JSONDecodeError:
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("nested too deeply", "", 0) from None


def check_variables(document: Any, variables: Any) -> None:
    """Refuse, naming it, a variable nested deeper than MAX_VARIABLE_NESTING: graphql-core coerces input objects
    recursively. JSON-typed variables are exempt (taken as they are; the ingest mutation bounds each event)."""
    if not isinstance(variables, dict):
        return
    json_typed = set()
    for definition in getattr(document, "definitions", ()):
        for var in getattr(definition, "variable_definitions", None) or ():
            named = var.type
            while hasattr(named, "type"):
                named = named.type
            if named.name.value == "JSON":
                json_typed.add(var.variable.name.value)
    for name, value in variables.items():
        if name in json_typed:
            continue
        stack = [(value, 0)]
        while stack:
            obj, depth = stack.pop()
            if isinstance(obj, (dict, list)):
                if depth >= MAX_VARIABLE_NESTING:
                    raise GraphQLError(f"Variable '${name}' is nested deeper than {MAX_VARIABLE_NESTING} levels")
                stack.extend((v, depth + 1) for v in (obj.values() if isinstance(obj, dict) else obj))
