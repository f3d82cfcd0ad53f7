"""A short path through strawberry's HTTP view for a request it has answered before: a POST of JSON whose document
is already parsed and validated (app.gql.offload's caches).

Such a request needs none of what the view and strawberry's `Schema.execute` do around graphql-core: choosing a
transport, the request adapters, four rounds of extension hooks that find the document parsed and validated
already. On this machine that is ~0.45 ms of a request's ~2 ms fixed cost (bench/README.md). `known` recognises
the request — anything else (GET, another content type, a batch, `extensions`, a streaming `Accept`, a document not
validated with these integer variables, a subscription, a variable nested too deeply) is left to the view,
which answers it as before — and `answer` runs what the long way would run for it, in the same order, with the
view's and the schema's own pieces: the context, graphql-core with the schema's executor, the schema's error
processing (logging what is masked), the masking extension's rule, the view's `process_result` (a 503 when Neo4j
went away) and `create_response`. tests/test_fast_http.py holds the two paths' answers equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, OperationType, execute, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult
from strawberry.utils.await_maybe import await_maybe

from app.gql.offload import check_variables, validated
from app.gql.schema import MASK_ERRORS, schema

ENABLED = True  # tests switch it off to get the long way's answer for the same request


@dataclass(frozen=True)
class Known:
    document: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None


async def known(view: Any, request: Request) -> Known | None:
    """The parts of a request the short path can answer, or None for the view."""
    if not ENABLED or request.method != "POST":
        return None
    headers = request.headers
    accept = headers.get("accept", "")
    if "application/json" not in headers.get("content-type", "") or "multipart/" in accept or "event-stream" in accept:
        return None
    try:
        data = view.decode_json(await request.body())  # kept by the request: the view reads the same bytes
    except Exception:  # noqa: BLE001 - bad JSON: the view says so
        return None
    if not isinstance(data, dict) or data.get("extensions") is not None:
        return None
    query, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(query, str) or not isinstance(variables, (dict, type(None))) or \
            not isinstance(operation_name, (str, type(None))):
        return None
    document = validated(query, variables)
    if document is None:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation not in (OperationType.QUERY, OperationType.MUTATION):
        return None
    try:
        check_variables(document, variables)
    except Exception:  # noqa: BLE001 - the view reports it
        return None
    return Known(document, variables, operation_name)


async def answer(view: Any, request: Request, request_known: Known) -> Response:
    """What the view answers for this request, without its detours."""
    sub_response = await view.get_sub_response(request)
    context = await view.get_context(request, response=sub_response)
    root_value = await view.get_root_value(request)
    core = await await_maybe(execute(
        schema._schema, request_known.document, root_value=root_value, context_value=context,
        variable_values=request_known.variables, operation_name=request_known.operation_name,
        executor_class=schema.execution_context_class, is_awaitable=optimized_is_awaitable,
        operation_extensions=None,
    ))
    result = ExecutionResult(data=core.data, errors=core.errors)
    if result.errors:
        schema._process_errors(result.errors)  # as Schema.execute: logged before they are masked
        result.errors = [MASK_ERRORS.anonymise_error(e) if MASK_ERRORS.should_mask_error(e) else e
                         for e in result.errors]
    response_data = await view.process_result(request=request, result=result)
    return view.create_response(response_data=response_data, sub_response=sub_response)
