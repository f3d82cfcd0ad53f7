"""A shorter path through graphql-core's executor for the fields that are only an attribute read.

A wide answer (the 181-resource `access`, a page of 100 events) is thousands of fields whose resolver is
strawberry's basic one, `getattr(source, python_name)`. graphql-core still runs its whole field protocol for each:
a `GraphQLResolveInfo` of 14 values, three calls down to `getattr`, awaitable checks and `complete_value`'s type
dispatch — most of the server's time for those queries (bench/README.md).

`FastExecutor.execute_fields` reads such a field itself when its type is a scalar or enum, an object type without
an `is_type_of` check, or a list of those, and completes the value the way graphql-core would. Everything else —
fields with resolvers (which get a real `info`), interfaces and unions, `__typename`, `resolve` hooks of schema
extensions — goes through graphql-core unchanged.

An object whose whole selection is such fields (an event of a page, a hop of an access path, recursively) is
completed by a projector compiled once per request for that selection: one function that reads the attributes
and builds the answer dict, nested objects and lists included, with no per-field dispatch. Any value it does not
take as it is (null in a non-null place, a value that does not coerce, a missing attribute) makes it give up for
that object, which is then completed field by field as above — reading has no side effects, so this is the same
answer, errors and their paths included. Errors keep graphql-core's semantics: a null or uncoercible
value for a non-null leaf is handed to graphql-core to report (the read has no side effects), and an error raised
below an object is located and propagated with `handle_field_error`, as `execute_field` does.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, NamedTuple

from graphql import (GraphQLBoolean, GraphQLField, GraphQLID, GraphQLList, GraphQLNonNull, GraphQLObjectType,
                     GraphQLOutputType, GraphQLString, is_leaf_type, is_object_type)
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

_BACKREF = "strawberry-definition"
_MISSING = object()
LEAF, OBJECT, LEAF_LIST, OBJECT_LIST = range(4)


class _Plan(NamedTuple):
    """How to read one basic field: its attribute, what it holds, and whether null is allowed where."""

    attr: str
    kind: int
    of: Any  # a leaf's coerce function, or the object type
    non_null: bool  # the field (or the list itself)
    items_non_null: bool  # list items
    shared: bool = False  # an object of a type marked SHARED: looked up in the request's memo (`_memo`)


def _unwrap(t: GraphQLOutputType) -> tuple[Any, bool]:
    return (t.of_type, True) if isinstance(t, GraphQLNonNull) else (t, False)


def _plan(field_def: GraphQLField) -> _Plan | None:
    """The plan of a basic field of a shape the fast path handles; None for everything else."""
    resolve = field_def.resolve
    definition = (field_def.extensions or {}).get(_BACKREF)
    if (resolve is None or getattr(resolve, "__name__", "") != "_get_basic_result" or definition is None
            or not definition.is_basic_field or definition.default_resolver is not getattr):
        return None
    t, non_null = _unwrap(field_def.type)
    items_non_null, is_list = False, isinstance(t, GraphQLList)
    if is_list:
        t, items_non_null = _unwrap(t.of_type)
    if is_leaf_type(t):
        return _Plan(definition.python_name, LEAF_LIST if is_list else LEAF, t.coerce_output_value, non_null,
                     items_non_null)
    if is_object_type(t) and t.is_type_of is None:
        origin = getattr((t.extensions or {}).get(_BACKREF), "origin", None)
        return _Plan(definition.python_name, OBJECT_LIST if is_list else OBJECT, t, non_null, items_non_null,
                     not is_list and getattr(origin, SHARED, False))
    return None


_TYPE_PLANS: dict[GraphQLObjectType, dict[str, _Plan | None]] = {}  # per object type: field name -> plan


def _plans(parent_type: GraphQLObjectType) -> dict[str, _Plan | None]:
    plans = _TYPE_PLANS.get(parent_type)
    if plans is None:
        plans = _TYPE_PLANS[parent_type] = {name: _plan(f) for name, f in parent_type.fields.items()}
    return plans


class _Slow(Exception):
    """The value is not one the fast path completes (null where not allowed, does not coerce): graphql-core's."""


def _leaf(coerce: Any, value: Any) -> Any:
    try:
        out = coerce(value)
    except Exception:  # graphql-core reports it, at the right path
        raise _Slow from None
    if out is None or out is Undefined:
        raise _Slow
    return out


Projector = Callable[[Any, dict], dict[str, Any]]  # (source, this request's memo) -> its answer
# response name, attribute, kind, coerce or projector, non-nulls, and whether the object is shared (`_memo`)
_Step = tuple[str, str, int, Any, bool, bool, bool]
SHARED = "shared_in_answers"  # a class attribute: its objects recur within one answer (app.gql.result_types)


def _exact(coerce: Any) -> str | None:
    """The Python type a leaf's coercion returns unchanged (String and ID: str, Boolean: bool), for an inline check
    instead of the call; None for every other scalar."""
    if coerce == GraphQLString.coerce_output_value or coerce == GraphQLID.coerce_output_value:
        return "str"
    return "bool" if coerce == GraphQLBoolean.coerce_output_value else None


def _source(steps: tuple[_Step, ...]) -> str:
    """The text of a projector for `steps`: each field read and checked in turn, building the answer dict."""
    lines = ["def project(source, memo):", "    out = {}", "    try:"]
    for i, (name, attr, kind, of, non_null, items_non_null, shared) in enumerate(steps):
        lines += [f"        v = getattr(source, {attr!r}, _MISSING)",
                  "        if v is None:",
                  "            raise _Slow" if non_null else f"            out[{name!r}] = None",
                  "        elif v is _MISSING:",
                  "            raise _Slow",
                  "        else:"]
        if kind == LEAF:
            exact = _exact(of)
            pad = "            " if exact is None else "                "
            if exact is not None:
                lines.append(f"            if type(v) is not {exact}:")
            lines += [f"{pad}v = of{i}(v)", f"{pad}if v is None or v is Undefined:", f"{pad}    raise _Slow"]
        elif kind == OBJECT and not shared:
            lines.append(f"            v = of{i}(v, memo)")
        elif kind == OBJECT:  # an object of a type whose objects recur in an answer: projected once (`_memo`)
            lines += [f"            key = (K{i}, id(v))",
                      "            hit = memo.get(key)",
                      "            if hit is not None and hit[0] is v:",
                      "                v = hit[1]",
                      "            else:",
                      f"                w = of{i}(v, memo)",
                      "                memo[key] = (v, w)",
                      "                v = w"]
        else:
            item = f"_leaf(of{i}, x)" if kind == LEAF_LIST else f"of{i}(x, memo)"
            # a None item where items are non-null: _leaf's check, or the item projector finding no attribute
            lines += ["            if not isinstance(v, (list, tuple)):",
                      "                raise _Slow",
                      f"            v = [{item} for x in v]" if items_non_null else
                      f"            v = [None if x is None else {item} for x in v]"]
        lines.append(f"            out[{name!r}] = v")
    lines += ["    except _Slow:", "        raise",
              "    except Exception:  # a coerce error, a non-object where one belongs: graphql-core reports it",
              "        raise _Slow from None",
              "    return out"]
    return "\n".join(lines)


_GENERATED: OrderedDict[tuple[_Step, ...], Projector] = OrderedDict()
GENERATED_ENTRIES = 2048  # distinct selections kept (least recently used out): a client sends the same few


def _generate(steps: tuple[_Step, ...]) -> Projector:
    """The projector of a compiled selection: generated Python (as dataclasses and attrs generate `__init__`), one
    straight-line function per selection, so a field costs a read and a check, not a loop step and a dispatch.
    Kept across requests by its steps — which hold nested selections' projectors, themselves kept, so the same
    selection gives the same key — and generated again only for a selection not seen lately."""
    projector = _GENERATED.get(steps)
    if projector is not None:
        _GENERATED.move_to_end(steps)
        return projector
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_Slow": _Slow, "Undefined": Undefined, "_leaf": _leaf}
    namespace.update((f"of{i}", step[3]) for i, step in enumerate(steps))
    namespace.update((f"K{i}", id(step[3])) for i, step in enumerate(steps))
    exec(compile(_source(steps), "<projector>", "exec"), namespace)  # noqa: S102 - names are GraphQL names
    projector = _GENERATED[steps] = namespace["project"]
    if len(_GENERATED) > GENERATED_ENTRIES:
        _GENERATED.popitem(last=False)
    return projector


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with a short path for basic fields (see the module docstring)."""

    @property
    def _memo(self) -> dict[tuple[int, int], tuple[Any, Any]]:
        """This request's projected objects, by (projector, id of the source): a converted answer shares its
        repeated objects (`result_types.convert`), so a wide access projects each hop's user, group and granting
        event once. An entry holds its source, so that id cannot be reused by another object meanwhile. Only an
        object field of a type marked SHARED is looked up: elsewhere (a page's events, an answer's hops) objects
        do not recur and the lookup would only cost."""
        return self.__dict__.setdefault("_shared_memo", {})

    def _hooked(self) -> bool:
        """A schema extension's `resolve` hook is installed: it must see every field, so no short path."""
        manager = self.middleware_manager
        return manager is not None and bool(manager.middlewares)

    def _projector(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Projector | None:
        """The compiled projector of this selection of `parent_type`, or None when one of its fields (or of its
        objects' selections) is not a basic field. Memoized per request by the selection's identity, as
        graphql-core's `collect_subfields` memoizes the selection itself (which keeps it alive meanwhile)."""
        cache: dict[int, tuple[Any, Projector | None]] = self.__dict__.setdefault("_projectors", {})
        hit = cache.get(id(grouped_field_set))
        if hit is not None:
            return hit[1]
        projector = self._compile(parent_type, grouped_field_set)
        cache[id(grouped_field_set)] = (grouped_field_set, projector)
        return projector

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> Projector | None:
        plans = _plans(parent_type)
        steps: list[_Step] = []
        for response_name, details in grouped_field_set.items():
            plan = plans.get(details[0].node.name.value)
            if plan is None:
                return None
            of = plan.of
            if plan.kind in (OBJECT, OBJECT_LIST):
                grouped, defers, _ = self.collect_subfields(plan.of, details)
                of = None if defers else self._projector(plan.of, grouped)
                if of is None:
                    return None
            steps.append((response_name, plan.attr, plan.kind, of, plan.non_null, plan.items_non_null, plan.shared))
        return _generate(tuple(steps))

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
                       grouped_field_set: Any, position_context: Any) -> Any:
        if self._hooked():
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        projector = self._projector(parent_type, grouped_field_set)
        if projector is not None:
            try:
                return projector(source_value, self._memo)
            except _Slow:
                pass  # field by field below, which reports what the projector would not take
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            self._fill(results, pending, parent_type, source_value, path, grouped_field_set, position_context)
        except Exception:
            if pending:  # a non-null error bubbles up: the siblings already started are settled, as graphql-core does
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results

        async def gathered() -> dict[str, Any]:
            done = await gather_with_cancel(*(results[name] for name in pending))
            results.update(zip(pending, done))
            return results
        return gathered()

    def complete_iterable_value(self, item_type: GraphQLOutputType, field_details_list: Any, info: Any, path: Path,
                                items: Any, position_context: Any) -> Any:
        """A resolver's list of objects (a page's edges) in one pass of the items' projector, when it has one."""
        t, items_non_null = _unwrap(item_type)
        if (is_object_type(t) and t.is_type_of is None and not self._hooked()
                and self.get_stream_usage(field_details_list, path) is None):
            grouped, defers, _ = self.collect_subfields(t, field_details_list)
            projector = None if defers else self._projector(t, grouped)
            if projector is not None:
                items = list(items)
                if not (items_non_null and any(item is None for item in items)):  # else graphql-core reports it
                    try:
                        memo = self._memo
                        return [None if item is None else projector(item, memo) for item in items]
                    except _Slow:
                        pass  # item by item, as graphql-core does
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _fill(self, results: dict[str, Any], pending: list[str], parent_type: GraphQLObjectType, source_value: Any,
              path: Path | None, grouped_field_set: Any, position_context: Any) -> None:
        plans = _plans(parent_type)
        is_awaitable = self.is_awaitable
        for response_name, details in grouped_field_set.items():
            name = details[0].node.name.value
            plan = plans.get(name)
            result: Any = Undefined
            if plan is not None:
                if plan.kind == LEAF:  # the common case, inline
                    value = getattr(source_value, plan.attr, _MISSING)
                    if value is _MISSING:
                        pass  # graphql-core's resolver raises it, located
                    elif value is None:
                        if not plan.non_null:
                            results[response_name] = None
                            continue
                    else:
                        try:
                            value = plan.of(value)
                        except Exception:  # graphql-core's path below reports it
                            value = None
                        if value is not None and value is not Undefined:
                            results[response_name] = value
                            continue
                else:
                    try:
                        result = self._complete(plan, parent_type.fields[name], details, parent_type, source_value,
                                                path, response_name)
                    except _Slow:
                        result = Undefined
            if result is Undefined:
                result = self.execute_field(parent_type, source_value, details,
                                            Path(path, response_name, parent_type.name), position_context)
                if result is Undefined:
                    continue
            results[response_name] = result
            if is_awaitable(result):
                pending.append(response_name)

    def _complete(self, plan: _Plan, field_def: GraphQLField, details: Any, parent_type: GraphQLObjectType,
                  source: Any, path: Path | None, response_name: str) -> Any:
        """The completed value of a basic object or list field, an awaitable of it, or _Slow for graphql-core."""
        value = getattr(source, plan.attr, _MISSING)
        if value is _MISSING:
            raise _Slow
        if value is None:
            if plan.non_null:
                raise _Slow
            return None
        kind = plan.kind  # not LEAF: `_fill` reads those itself
        if kind != OBJECT and (isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__")):
            raise _Slow  # not a list: graphql-core says so
        if kind == LEAF_LIST:
            coerce = plan.of
            if plan.items_non_null:
                return [_leaf(coerce, v) for v in value]  # a None item: _Slow from coerce's check
            return [None if v is None else _leaf(coerce, v) for v in value]
        field_path = Path(path, response_name, parent_type.name)
        grouped, defers, _ = self.collect_subfields(plan.of, details)
        if defers:
            raise _Slow
        try:
            if kind == OBJECT:
                done = self.execute_fields(plan.of, value, field_path, grouped, None)
            else:
                items = list(value)
                if plan.items_non_null and any(item is None for item in items):
                    raise _Slow
                done = self._object_list(plan, details, field_path, grouped, items)
        except _Slow:
            raise
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, details, field_path)
            return None
        if self.is_awaitable(done):
            return self._guard(done, field_def.type, details, field_path)
        return done

    def _object_list(self, plan: _Plan, details: Any, path: Path, grouped: Any, items: list[Any]) -> Any:
        out: list[Any] = []
        waiting: list[int] = []
        item_type = GraphQLNonNull(plan.of) if plan.items_non_null else plan.of
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            if item is None:
                out.append(None)
                continue
            try:
                done = self.execute_fields(plan.of, item, item_path, grouped, None)
            except Exception as raw_error:
                try:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                except Exception:
                    if waiting:  # a non-null item's error bubbles up: settle the items already started
                        self.settle_in_background([out[i] for i in waiting])
                    raise
                done = None
            if self.is_awaitable(done):
                done = self._guard(done, item_type, details, item_path)
                waiting.append(index)
            out.append(done)
        if not waiting:
            return out

        async def gathered() -> list[Any]:
            for i, value in zip(waiting, await gather_with_cancel(*(out[i] for i in waiting))):
                out[i] = value
            return out
        return gathered()

    async def _guard(self, awaitable: Any, return_type: GraphQLOutputType, details: Any, path: Path) -> Any:
        try:
            return await awaitable
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None
