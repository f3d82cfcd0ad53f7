"""A validation rule for what the depth limiter does not see: introspection. Strawberry's QueryDepthLimiter skips
`__schema`/`__type`, so `types { fields { type { fields { type { fields ...` would fan out unbounded; GraphiQL's
own introspection query nests list fields 3 deep and `ofType` 7 deep, so these bounds never bother a real client.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule

FANOUT = frozenset({"types", "fields", "inputFields", "interfaces", "possibleTypes", "enumValues", "args"})
MAX_FANOUT = 4
MAX_OF_TYPE = 10


class IntrospectionLimit(ValidationRule):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.inside = 0  # depth inside __schema / __type
        self.fanout = 0
        self.of_type = 0
        self.reported = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        name = node.name.value
        if name in ("__schema", "__type"):
            self.inside += 1
        if not self.inside:
            return
        self.fanout += name in FANOUT
        self.of_type += name == "ofType"
        if (self.fanout > MAX_FANOUT or self.of_type > MAX_OF_TYPE) and not self.reported:
            self.reported = True
            self.report_error(GraphQLError("introspection nests too deeply", node))

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        name = node.name.value
        if self.inside:
            self.fanout -= name in FANOUT
            self.of_type -= name == "ofType"
        if name in ("__schema", "__type"):
            self.inside -= 1
