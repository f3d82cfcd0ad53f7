"""The filter tree evaluated in plain Python against raw events: the reference that the Cypher the graph layer
compiles is tested against (tests/test_rest_query.py, the hypothesis search-term tests)."""

from __future__ import annotations

from app.model.events import ip_key, normalise_service
from app.model.fields import get_path, leaf_strings
from app.model.filters import And, Contains, Exact, Exists, IpRange, Node, Not, Or, Text, TimeRange
from app.model.times import parse_timestamp


def evaluate(node: Node, event: dict, ts: int | None = None) -> bool:
    """Evaluate a tree against a raw event in Python: the oracle the Cypher compiler is checked against."""
    if isinstance(node, And):
        return all(evaluate(n, event, ts) for n in node.items)
    if isinstance(node, Or):
        return any(evaluate(n, event, ts) for n in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, event, ts)
    if isinstance(node, TimeRange):
        t = ts if ts is not None else parse_timestamp(event.get("timestamp"))
        return (node.start_ms is None or t >= node.start_ms) and (node.end_ms is None or t < node.end_ms)
    if isinstance(node, IpRange):
        key = ip_key(event.get("client_ip"))
        return key is not None and any(lo <= key <= hi for lo, hi in node.ranges)
    if isinstance(node, Text):
        return any(node.query in s for s in leaf_strings(event))
    if isinstance(node, Exact):
        return any(node.value == s for s in leaf_strings(event))
    values = []
    for p in node.field.paths:
        for v in get_path(event, p):
            try:
                values.append(node.field.coerce(v))
            except ValueError:
                pass
    if isinstance(node, Exists):
        return bool(values)
    if isinstance(node, Contains):
        return any(isinstance(v, str) and node.value in v for v in values)
    if node.field.path == "service":
        values = [normalise_service(v) if isinstance(v, str) else v for v in values]
    return any(v in node.values for v in (values if node.field.multi else values[:1]))
