"""Schemathesis against the ASGI app: requests generated from /openapi.json (schema-valid and schema-invalid
bodies) must never get a 5xx, and every response must conform to the document (status, content type, headers,
body schema).

Driven by hand (operation.as_strategy + hypothesis) rather than through schemathesis' pytest plugin, whose
fixture integration reaches into pytest internals that pytest 9 no longer has.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from app.rest.openapi import document
from tests.conftest import ingest, make_key, new_org, sample_events

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
OPERATIONS = [(method.upper(), path) for path, item in document()["paths"].items() for method in item]
EXAMPLES = 40


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """JSON lines for the ingest endpoint (schemathesis has no built-in serializer for them): a string as is,
    anything else (negative cases) as one JSON line."""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def fuzz_key(db) -> str:
    """An ingest (so also read) key for an organization holding the sample events."""
    org = new_org()
    ingest(db, sample_events(org))
    return make_key(db, org, scope="ingest")


@pytest.fixture(scope="module")
def api_schema(app) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_openapi_document(api_schema: Any, fuzz_key: str, method: str, path: str,
                                              mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    def run(case: Any) -> None:
        case.call_and_validate(headers={"x-api-key": fuzz_key}, checks=CHECKS)

    run()
