"""The OpenAPI 3 description of the REST API (served at /openapi.json, rendered at /docs).

Hand-written rather than generated, because the vendor's contract is the source of truth: the shapes here are the
ones its clients (PowerShell module, SIEM collectors) already rely on. Kept in step with app/rest/endpoints.py by the
schemathesis run in tests/test_rest_fuzz.py, which checks every response against this document.
"""

from __future__ import annotations

from typing import Any

from app.model.times import MAX_INTERVAL_VALUE
from app.rest.query import DEFAULT_LIMIT, INTERVAL_UNITS, MAX_LIMIT, SUPPORTED_SERVICES

BASE = "/insights/directory/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


REQUEST_ID = _header("Identifies this request in the server's logs; an incoming X-Request-Id is echoed.",
                     {"type": "string"})

_ERRORS: dict[str, str] = {
    "400": "The body is not valid; the message names the offending field.",
    "401": "No API key, or an unknown or revoked one.",
    "403": "The key may not act for that organization, or lacks the scope (ingest needs `ingest`).",
    "413": "The body is larger than the server accepts.",
    "500": "Server trouble; quote the X-Request-Id.",
    "503": "The database is unavailable; retry with backoff.",
}


def _errors(*codes: str) -> dict[str, Any]:
    return {
        code: {
            "description": _ERRORS[code],
            "headers": {"X-Request-Id": REQUEST_ID},
            "content": {"application/json": {"schema": _ref("Error")}},
        }
        for code in codes
    }


def _json_body(schema: str, description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _ok(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"X-Request-Id": REQUEST_ID, **(headers or {})},
        "content": {"application/json": {"schema": schema}},
    }


ORG_HEADER = {
    "name": "x-org-id",
    "in": "header",
    "required": False,
    "description": "The organization to act for; required when the key holds several.",
    "schema": {"type": "string"},
}

QUERY_ERRORS = ("400", "401", "403", "413", "500", "503")


def _query_operation(summary: str, description: str, body: str, response: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "description": description,
            "operationId": summary.replace(" ", ""),
            "tags": ["Directory Insights"],
            "parameters": [ORG_HEADER],
            "requestBody": _json_body(body, "The query; unknown top-level keys are ignored."),
            "responses": {"200": response, **_errors(*QUERY_ERRORS)},
        }
    }


EVENT_QUERY_PROPERTIES: dict[str, Any] = {
    "service": {
        "type": "array", "minItems": 1,
        "items": {"type": "string", "enum": list(SUPPORTED_SERVICES)},
        "description": "Services to search; `all` means every service (case-insensitive).",
    },
    "start_time": {"type": "string", "format": "date-time", "description": "RFC 3339, inclusive."},
    "end_time": {"type": "string", "format": "date-time",
                 "description": "RFC 3339, exclusive; must be after start_time."},
    "limit": {"type": "integer", "default": DEFAULT_LIMIT, "minimum": 1, "maximum": MAX_LIMIT,
              "description": f"Page size (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}); a nonsensical value falls "
                             "back to the default."},
    "sort": {"type": "string", "enum": ["ASC", "DESC", "asc", "desc"], "default": "ASC",
             "description": "By timestamp, ties broken by event id; case-insensitive; anything else means ASC."},
    "search_after": {
        "type": "array", "minItems": 2, "maxItems": 2,
        "items": {"oneOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]},
        "description": "`[<epoch ms>, \"<event id>\"]`: the decoded X-Search_after header of the previous page. "
                       "When present, `skip` is ignored (it applies to the first page only).",
        "example": [1591372469568, "5eda6ab54fd13527dcd9ccfb"],
    },
    "search_term": _ref("SearchTerm"),
    "fields": {"type": "array", "minItems": 1, "items": {"type": "string"},
               "description": "Dot paths to keep in each event; unknown ones are dropped, none known is a 400.",
               "example": ["timestamp", "initiated_by.username", "success"]},
    "q": {"type": "string", "description": "Free text, matched case-insensitively within the event's text fields."},
    "exact_match": {"type": "string", "description": "A value some field must equal exactly; not with `q`."},
    "skip": {"type": "integer", "minimum": 0, "default": 0,
             "description": "Events to skip before the page (first page only: ignored with search_after)."},
}

SCHEMAS: dict[str, Any] = {
    "EventQuery": {
        "type": "object",
        "required": ["service", "start_time"],
        "properties": EVENT_QUERY_PROPERTIES,
        "example": {"service": ["all"], "start_time": "2020-05-14T00:00:00Z",
                    "search_term": {"and": {"event_type": ["user_create"]}}},
    },
    "DistinctQuery": {
        "type": "object",
        "required": ["service", "start_time", "field"],
        "properties": {**EVENT_QUERY_PROPERTIES,
                       "field": {"type": "string", "description": "The dot path whose values are counted."},
                       "limit": {**EVENT_QUERY_PROPERTIES["limit"], "description": "Buckets to return."}},
        "example": {"service": ["all"], "start_time": "2020-01-01T00:00:00Z", "field": "event_type"},
    },
    "IntervalQuery": {
        "type": "object",
        "required": ["service", "start_time", "interval_unit"],
        "properties": {
            **EVENT_QUERY_PROPERTIES,
            "interval_unit": {"type": "string", "enum": list(INTERVAL_UNITS),
                              "description": "s, m, h, d or w (weeks start on Monday)."},
            "interval_value": {
                "oneOf": [{"type": "string", "pattern": "^[0-9]+$"},
                          {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL_VALUE}],
                "default": "1", "description": "Units per bucket, e.g. \"2\".",
            },
            "timezone": {"type": "string", "example": "-0500",
                         "description": "A UTC offset (\"-0500\", \"+05:30\", \"Z\"): buckets align to its midnight."},
        },
        "example": {"service": ["all"], "start_time": "2020-01-01T00:00:00Z", "interval_unit": "d",
                    "interval_value": "1", "timezone": "-0500"},
    },
    "SearchTerm": {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "description": "Exactly one of `and`, `or`, `not`, whose value is a list of single-key objects or a map of "
                       "field: value. A value is a scalar or a list (any of); a key may be and/or/not again, to "
                       "any depth. Fields are dot paths; matching is case-insensitive; `not` excludes events "
                       "matching any of its conditions.",
        "additionalProperties": True,
        "example": {"and": [{"success": "false"},
                            {"or": [{"initiated_by.username": "paul"}, {"username": "paul"}]}]},
    },
    "Event": {
        "type": "object",
        "description": "An event exactly as ingested (plus enrichment such as geoip), or its projection on "
                       "`fields`.",
        "additionalProperties": True,
        "properties": {
            "id": {"type": "string"}, "event_type": {"type": "string"}, "service": {"type": "string"},
            "timestamp": {"type": "string"}, "organization": {"type": "string"},
        },
    },
    "Count": {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer", "minimum": 0}}},
    "Distinct": {
        "type": "object",
        "required": ["buckets", "doc_count_error_upper_bound", "sum_other_doc_count"],
        "properties": {
            "buckets": {"type": "array", "items": {
                "type": "object", "required": ["key", "doc_count"],
                "properties": {"key": {"description": "A value of the field (text lower-cased)."},
                               "doc_count": {"type": "integer", "minimum": 1}},
            }},
            "doc_count_error_upper_bound": {"type": "integer"},
            "sum_other_doc_count": {"type": "integer", "minimum": 0,
                                    "description": "Events whose value is beyond the returned buckets."},
        },
    },
    "Interval": {
        "type": "object", "required": ["buckets"],
        "properties": {"buckets": {"type": "array", "items": {
            "type": "object", "required": ["key", "key_as_string", "doc_count"],
            "properties": {"key": {"type": "integer", "description": "Bucket start, epoch ms."},
                           "key_as_string": {"type": "string", "format": "date-time",
                                             "description": "Bucket start, RFC 3339 in the requested offset."},
                           "doc_count": {"type": "integer", "minimum": 0}},
        }}},
    },
    "IngestResult": {
        "type": "object",
        "required": ["accepted", "duplicates", "rejected", "results"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 0},
            "duplicates": {"type": "integer", "minimum": 0, "description": "Already stored (same id): skipped."},
            "rejected": {"type": "array", "items": {
                "type": "object", "required": ["where", "reason"],
                "properties": {"where": {"type": "string", "example": "index 3"}, "reason": {"type": "string"}},
            }},
            "results": {"type": "array", "description": "One per input record, in input order.", "items": {
                "type": "object", "required": ["where", "id", "status"],
                "properties": {
                    "where": {"type": "string", "example": "line 3"},
                    "id": {"type": "string", "nullable": True},
                    "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
                    "reason": {"type": "string"},
                },
            }},
        },
    },
    "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
}

PAGE_HEADERS: dict[str, Any] = {
    "X-Result-Count": _header("Events in this page.", {"type": "integer", "minimum": 0}),
    "X-Limit": _header("The page size used.", {"type": "integer", "minimum": 1}),
    "X-Sort": _header("The sort used.", {"type": "string", "enum": ["ASC", "DESC"]}),
    "X-Search_after": _header(
        "JSON array `[<epoch ms>, \"<id>\"]` of the page's last event, to send back as search_after. On an empty "
        "page: the request's search_after, or `[]`. Keep paging until X-Result-Count < X-Limit.",
        {"type": "string"}),
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh dict: callers may not mutate a shared one)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "insightgraph Directory Insights API",
            "version": "1",
            "description": "Drop-in compatible with the JumpCloud Directory Insights v1 REST API, plus an ingest "
                           "endpoint. Authenticate with the `x-api-key` header; errors are `{\"message\": ...}`.",
        },
        "security": [{"ApiKey": []}],
        "paths": {
            f"{BASE}/events": _query_operation(
                "Get events", "A page of events in their original shape.", "EventQuery",
                _ok({"type": "array", "items": _ref("Event")}, "The page (may be empty).", PAGE_HEADERS)),
            f"{BASE}/events/count": _query_operation(
                "Count events", "How many events match (paging knobs are ignored).", "EventQuery",
                _ok(_ref("Count"), "The count.")),
            f"{BASE}/events/distinct": _query_operation(
                "Distinct values", "The most frequent values of `field` among matching events; `limit` caps the "
                "buckets.", "DistinctQuery", _ok(_ref("Distinct"), "Buckets, most frequent first.")),
            f"{BASE}/events/interval": _query_operation(
                "Events per interval", "Matching events per time bucket (empty buckets between the first and last "
                "included).", "IntervalQuery", _ok(_ref("Interval"), "Buckets in time order.")),
            f"{BASE}/ingest": {"post": {
                "summary": "Ingest events",
                "description": "Not in the vendor's API: store events (a JSON array, or JSON lines) through the same "
                               "pipeline as the CLI. Needs a key with scope `ingest`. Idempotent by event id; events "
                               "of another organization than the key's are rejected one by one.",
                "operationId": "IngestEvents",
                "tags": ["Ingest"],
                "parameters": [ORG_HEADER],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "array", "items": _ref("Event")}},
                    "application/x-ndjson": {"schema": {"type": "string", "description": "One event a line."}},
                }},
                "responses": {"200": _ok(_ref("IngestResult"), "Per-event results."),
                              **_errors(*QUERY_ERRORS)},
            }},
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
    }


DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>insightgraph REST API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/assets/redoc.standalone.js"></script>
</body></html>
"""
