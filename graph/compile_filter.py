"""The one compiler from the filter tree to Cypher. Values always become parameters; property names come only
from the field registry, never from the request."""

from __future__ import annotations

from typing import Any

from app.model.filters import And, Contains, Exact, Exists, IpRange, Match, Node, Not, Or, Text, TimeRange


class Compiler:
    def __init__(self, var: str = "e", prefix: str = "f") -> None:
        self.var = var
        self.prefix = prefix
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return "$" + name

    def compile(self, node: Node) -> str:
        v = self.var
        if isinstance(node, And):
            if not node.items:
                return "true"
            return "(" + " AND ".join(self.compile(n) for n in node.items) + ")"
        if isinstance(node, Or):
            if not node.items:
                return "false"
            return "(" + " OR ".join(self.compile(n) for n in node.items) + ")"
        if isinstance(node, Not):
            # Leaves may be null (a missing property); WHERE drops null like false, and AND/OR keep that, so only
            # a negation needs its operand made two-valued. Plain leaves elsewhere let the planner use indexes.
            return f"(NOT coalesce({self.compile(node.item)}, false))"
        if isinstance(node, TimeRange):
            parts = []
            if node.start_ms is not None:
                parts.append(f"{v}.ts >= {self.param(node.start_ms)}")
            if node.end_ms is not None:
                parts.append(f"{v}.ts < {self.param(node.end_ms)}")
            return "(" + " AND ".join(parts) + ")" if parts else "true"
        if isinstance(node, IpRange):
            ors = [f"({v}.ip_key >= {self.param(lo)} AND {v}.ip_key <= {self.param(hi)})" for lo, hi in node.ranges]
            return "(" + " OR ".join(ors) + ")" if ors else "false"
        if isinstance(node, Text):
            return f"{v}.text CONTAINS {self.param(node.query.lower().replace(chr(10), ' '))}"
        if isinstance(node, Exact):
            line = chr(10) + node.value.lower().replace(chr(10), " ") + chr(10)  # a whole line of e.text
            return f"{v}.text CONTAINS {self.param(line)}"
        prop = f"{v}.`{node.field.prop}`"  # a registry identifier, never user input
        if isinstance(node, Exists):
            return f"{prop} IS NOT NULL"
        if isinstance(node, Contains):
            if node.field.multi:
                return f"any(x IN {prop} WHERE x CONTAINS {self.param(node.value.lower())})"
            return f"{prop} CONTAINS {self.param(node.value.lower())}"
        if isinstance(node, Match):
            if node.field.multi:
                return f"any(x IN {prop} WHERE x IN {self.param(list(node.values))})"
            if len(node.values) == 1:
                return f"{prop} = {self.param(node.values[0])}"
            return f"{prop} IN {self.param(list(node.values))}"
        raise TypeError(f"not a filter node: {node!r}")


def compile_filter(node: Node, var: str = "e", prefix: str = "f") -> tuple[str, dict[str, Any]]:
    """(WHERE expression, parameters) for a filter tree over Event nodes bound to `var`."""
    c = Compiler(var, prefix)
    return c.compile(node), c.params
