"""Depth, alias and cost analysis of a GraphQL operation in one pass linear in the document.

Strawberry's QueryDepthLimiter and MaxAliasesLimiter walk a fragment again at every spread, so 20 levels of doubled
spreads (an 824-character query) cost 2^20 walks. Here each fragment is analysed once and its result reused at every
spread: (depth, aliases, cost) of a selection set is computed bottom-up and memoised per fragment, so the numbers
are those of the expanded query while the work is that of the written one.

Cost: list sizes multiplied through the tree. A field returning objects costs `factor * (1 + cost of its
selections)`, where `factor` is its `first` argument (a literal, a variable's value, or the argument's default), 1
for a connection's `edges`/`nodes` (already counted by the `first` above them), LIST_FACTOR for any other list, and 1
for a single object. Scalars are free. An operation over MAX_COST is refused before it runs, with the number.
"""

from __future__ import annotations

from typing import Any

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLList,
                     GraphQLNamedType, GraphQLNonNull, GraphQLObjectType, InlineFragmentNode, IntValueNode,
                     OperationDefinitionNode, SelectionSetNode, ValidationRule, VariableNode, get_named_type)
from graphql.language import visitor

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_COST = 250_000
LIST_FACTOR = 10
CONNECTION_LISTS = frozenset({"edges", "nodes"})


class _Analysis:
    def __init__(self, context: Any, variables: dict[str, Any]) -> None:
        self.schema = context.schema
        self.fragments: dict[str, FragmentDefinitionNode] = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.variables = variables
        self.memo: dict[str, tuple[int, int, int]] = {}
        self.active: set[str] = set()  # fragments being analysed: a cycle (reported by graphql-core) counts 0

    def selection_set(self, sel: SelectionSetNode | None, parent: GraphQLNamedType | None) -> tuple[int, int, int]:
        """(depth, aliases, cost) of a selection set under `parent` (None when the type is unknown)."""
        depth = aliases = cost = 0
        for node in sel.selections if sel else ():
            if isinstance(node, FieldNode):
                d, a, c = self.field(node, parent)
                depth, aliases, cost = max(depth, d), aliases + a, cost + c
            elif isinstance(node, InlineFragmentNode):
                cond = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                d, a, c = self.selection_set(node.selection_set, cond)
                depth, aliases, cost = max(depth, d), aliases + a, cost + c
            elif isinstance(node, FragmentSpreadNode):
                d, a, c = self.fragment(node.name.value)
                depth, aliases, cost = max(depth, d), aliases + a, cost + c
        return depth, aliases, cost

    def fragment(self, name: str) -> tuple[int, int, int]:
        if name in self.memo:
            return self.memo[name]
        frag = self.fragments.get(name)
        if frag is None or name in self.active:
            return 0, 0, 0
        self.active.add(name)
        result = self.selection_set(frag.selection_set, self.schema.get_type(frag.type_condition.name.value))
        self.active.discard(name)
        self.memo[name] = result
        return result

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> tuple[int, int, int]:
        name = node.name.value
        own_alias = 1 if node.alias else 0
        if name.startswith("__"):  # introspection: bounded by IntrospectionLimit
            return 0, own_alias, 0
        fdef = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) or hasattr(parent, "fields") \
            else None
        ftype = fdef.type if fdef is not None else None
        named = get_named_type(ftype) if ftype is not None else None
        if node.selection_set is None:
            return 0, own_alias, 0
        d, a, c = self.selection_set(node.selection_set, named)
        return 1 + d, own_alias + a, self.factor(node, fdef, ftype) * (1 + c)

    def factor(self, node: FieldNode, fdef: Any, ftype: Any) -> int:
        first = self.argument(node, fdef, "first")
        if first is not None:
            return max(1, first)
        inner = ftype.of_type if isinstance(ftype, GraphQLNonNull) else ftype
        if isinstance(inner, GraphQLList):
            return 1 if node.name.value in CONNECTION_LISTS else LIST_FACTOR
        return 1

    def argument(self, node: FieldNode, fdef: Any, name: str) -> int | None:
        if fdef is None or name not in fdef.args:
            return None
        for arg in node.arguments or ():  # graphql-core leaves it None when the field is written without (...)
            if arg.name.value == name:
                if isinstance(arg.value, IntValueNode):
                    return int(arg.value.value)
                if isinstance(arg.value, VariableNode):
                    value = self.variables.get(arg.value.name.value)
                    return value if isinstance(value, int) and not isinstance(value, bool) else None
                return None
        default = fdef.args[name].default_value
        return default if isinstance(default, int) and not isinstance(default, bool) else None


def cost_rule(variables: dict[str, Any] | None = None) -> type[ValidationRule]:
    """A validation rule bound to the request's variables (a `first: $n` is then counted at its value)."""
    bound = dict(variables or {})

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
            analysis = _Analysis(self.context, bound)
            root = self.context.schema.get_root_type(node.operation)
            depth, aliases, cost = analysis.selection_set(node.selection_set, root)
            if depth > MAX_DEPTH:
                self.report_error(GraphQLError(f"the query is nested {depth} deep; at most {MAX_DEPTH} "
                                               "levels are allowed", node))
            if aliases > MAX_ALIASES:
                self.report_error(GraphQLError(f"the query uses {aliases} aliases (fragments expanded); at most "
                                               f"{MAX_ALIASES} are allowed", node))
            if cost > MAX_COST:
                self.report_error(GraphQLError(
                    f"the query would cost {cost} (object fields, each multiplied by the sizes of the lists "
                    f"above it); the budget is {MAX_COST}: ask for smaller pages (`first`) or nest less", node))
            return visitor.SKIP

    return CostLimit
