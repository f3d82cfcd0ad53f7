"""`user(id:)` without a round trip in front of its traversals.

`user(id: $u) { access(asOf: $t) { ... } }` needs the User node (the answer is null when there is none) and then the
traversal: one after the other, two round trips and two thread hops. So the traversals its selection asks for are
started at once, each under exactly the (function, arguments) key its resolver will compute from the same table
(`entity_types.ASKS`), and the first of them looks the node up inside its own first read (`graph.with_entity`):
one statement for both. A resolver finding its key awaits that answer, any other asks as before. For an unknown id
the user is null and the answers fetched ahead are dropped (cheap: a traversal from a missing node finds
nothing). Only plain child fields are looked at (not fragments), at most MAX_AHEAD.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from graphql import FieldNode
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types import Info

from app.gql.context import Context
from app.gql.entity_types import ASKS
from app.model.results import EntityNode
import graph

MAX_AHEAD = 4


def prefetch(info: Info[Context, None], label: str, entity_id: str) -> Awaitable[EntityNode | None] | None:
    """Start the traversals `info`'s selection asks of entity (label, entity_id); see the module docstring. Returns
    the entity's lookup (folded into the first traversal), or None when nothing was started."""
    asks = ASKS.get(label)
    raw = info._raw_info
    selection = raw.field_nodes[0].selection_set if len(raw.field_nodes) == 1 else None
    gtype = raw.schema.get_type(label)
    if not asks or selection is None or gtype is None:
        return None
    ctx = info.context
    variables = VariableValues({}, dict(raw.variable_values or {}))
    started, lookup = 0, None
    for node in selection.selections:
        ask = asks.get(node.name.value) if isinstance(node, FieldNode) else None
        if ask is None or node.directives:  # @skip / @include: leave it to the resolver
            continue
        try:
            fn, args = ask(get_argument_values(gtype.fields[node.name.value], node, variables))
        except Exception:  # the resolver will see (and report) whatever is wrong with the arguments
            continue
        key = (label, entity_id, fn, args)
        if key in ctx.prefetched:
            continue
        if lookup is None:
            lookup = asyncio.ensure_future(ctx.run(graph.with_entity, ctx.db, ctx.org, label, entity_id, fn, *args))
            task = asyncio.ensure_future(_answer(lookup))
        else:
            task = asyncio.ensure_future(ctx.run(fn, ctx.db, ctx.org, entity_id, *args))
        task.add_done_callback(_observe)
        ctx.prefetched[key] = task
        started += 1
        if started == MAX_AHEAD:
            break
    return None if lookup is None else _node(lookup, ctx, label, entity_id)


async def _answer(both: Awaitable[tuple[EntityNode | None, Any]]) -> Any:
    return (await both)[1]


async def _node(both: Awaitable[tuple[EntityNode | None, Any]], ctx: Context, label: str,
                entity_id: str) -> EntityNode | None:
    """The entity; when its traversal failed (a timeout, bad arguments) it is looked up on its own, so the error
    stays the traversal field's, as without the fold. Neo4j being away is everyone's error: not waited for twice."""
    try:
        return (await both)[0]
    except graph.UNAVAILABLE:
        raise
    except Exception:
        return await ctx.run(graph.find_entity, ctx.db, ctx.org, label, id=entity_id)


def _observe(task: asyncio.Future[Any]) -> None:
    """An answer fetched ahead that nobody awaits (unknown user): its error is not 'never retrieved'."""
    if not task.cancelled():
        task.exception()
