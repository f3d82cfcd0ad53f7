"""The vendor-compatible Directory Insights REST API (/insights/directory/v1/events*), our HTTP ingest, and the
OpenAPI document — thin handlers over app.rest.query (what a body means) and graph.search (the Cypher).

Choices a client can observe, all within the vendor's contract:
- `/events` streams the stored raw JSON of each event unchanged (no re-serialisation, so bytes are exactly what
  was ingested plus enrichment); the page's keys are read first, because the headers (X-Result-Count,
  X-Search_after) must go out before the body, and the events are then loaded by those keys in chunks, so the
  body is exactly the page the headers describe and a 10,000-event page never sits in memory.
- X-Search_after is the page's last `[ts_ms, "id"]`; on an empty page it echoes the request's search_after (or
  `[]`), so a client that resends it unchanged never jumps backwards.
- `skip` applies to the first page only (no search_after): the paging loop resends the same body each time, and
  re-applying skip on every page would silently drop events.
- Errors are always `{"message": ...}`: bad input 400 naming the field, Neo4j away 503 (the app-wide
  ObservabilityMiddleware then treats the database as down, and sets X-Request-Id on every response).
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any, Awaitable, Callable, Iterator, Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.rest import openapi
from app.auth import Principal
from app.http_errors import HTTPError
from app.ingest import IngestInterrupted, Summary
from app.model.jsonutil import JSONDecodeError, dumpb, loads
from app.ingest.records import Record, index_of, read_records
from app.rest.query import BadRequest, EventQuery, parse_distinct, parse_event_query, parse_interval, project
from graph.db import UNAVAILABLE, Database
from app.model.times import UNIT_MS, bucket_origin, offset_ms, rfc3339
from graph.search import (count_events, distinct_values, event_histogram, find_event_keys,
                          load_raw)


BASE = openapi.BASE
QUERY_MAX_BYTES = 4 * 1024 * 1024  # a query body; ingest bodies are bounded by settings.max_body_bytes instead
MAX_SKIP = 2**62
CHUNK = 500  # events per database round trip while streaming a page

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

Handler = Callable[[Request], Awaitable[Response]]


# --- plumbing: errors, bodies -------------------------------------------------------------------------


def api(methods: Sequence[str] = ("POST",)) -> Callable[[Handler], Handler]:
    """Allows only `methods` (405 with Allow otherwise); exceptions become answers in app.http_errors."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            if request.method not in methods:
                raise HTTPError(405, f"{request.method} is not allowed here; use {' or '.join(methods)}",
                                {"Allow": ", ".join(methods)})
            return await handler(request)  # errors: app.http_errors, via the app's exception handlers

        return endpoint

    return wrap


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) as soon as it is known to exceed `limit`: Content-Length first, then the
    bytes actually received (a chunked or lying client cannot get past it)."""
    declared = request.headers.get("content-length", "")
    too_large = HTTPError(413, f"the body is larger than {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise too_large
    return bytes(buf)


async def json_body(request: Request) -> Any:
    limit = min(QUERY_MAX_BYTES, _services(request).settings.max_body_bytes)
    data = await read_body(request, limit)
    if not data.strip():
        raise BadRequest("body: a JSON object is required")
    try:
        return await run_in_threadpool(loads, data) if len(data) > 64 * 1024 else loads(data)  # big: off the loop
    except JSONDecodeError as exc:
        raise BadRequest(f"body: not valid JSON ({exc})") from None


def _services(request: Request) -> Any:
    return request.app.state.services


def _principal(request: Request) -> Principal:
    principal = request.scope.get("state", {}).get("principal")
    if principal is None:  # only if the auth middleware were missing: refuse rather than serve unscoped
        raise HTTPError(401, "an API key is required: send it as the x-api-key header")
    return principal


async def _db(request: Request) -> Database:
    """The database, connected lazily in a worker thread (connecting blocks; failing is a 503)."""
    services = _services(request)
    return await run_in_threadpool(lambda: services.db)


# --- /events ------------------------------------------------------------------------------------------------------


@api()
async def events(request: Request) -> Response:
    """One page of events in their original shape, with the paging headers every client loop relies on."""
    query = await run_in_threadpool(parse_event_query, await json_body(request))
    db, org = await _db(request), _principal(request).organization
    # Skip beyond any real result is an empty page either way; capped so Neo4j's SKIP + LIMIT stays in 64 bits.
    skip = min(query.skip, MAX_SKIP) if query.search_after is None else 0
    keys = await run_in_threadpool(find_event_keys, db, org, query.filter, limit=query.limit,
                                   descending=query.sort == "DESC", after=query.search_after, skip=skip)
    headers = _page_headers(query, keys)
    first = await run_in_threadpool(_render_chunk, db, org, keys[:CHUNK], query.fields)  # a 503 still possible here
    if len(keys) <= CHUNK:
        return Response(b"[" + first + b"]", media_type="application/json", headers=headers)
    return StreamingResponse(_page_body(db, org, keys, first, query.fields), media_type="application/json",
                             headers=headers)


def _page_headers(query: EventQuery, keys: list[tuple[int, str, str]]) -> dict[str, str]:
    last: list[Any] = list(keys[-1][:2]) if keys else list(query.search_after or [])
    return {
        "X-Result-Count": str(len(keys)),
        "X-Limit": str(query.limit),
        "X-Sort": query.sort,
        # ASCII-only JSON: header values are latin-1 on the wire, ids may be any Unicode
        "X-Search_after": json.dumps(last, separators=(",", ":"), ensure_ascii=True),
    }


def _render_chunk(db: Database, org: str, keys: list[tuple[int, str, str]], fields: tuple[str, ...] | None) -> bytes:
    """The events of `keys`, in that order, as comma-joined JSON (an event deleted meanwhile is left out)."""
    if not keys:
        return b""
    raws = load_raw(db, org, keys)
    ids = [eid for _, eid, _ in keys]
    if fields is None:
        return b",".join(raws[i].encode() for i in ids if i in raws)
    return b",".join(dumpb(project(loads(raws[i]), fields)) for i in ids if i in raws)


def _page_body(db: Database, org: str, keys: list[tuple[int, str, str]], first: bytes,
               fields: tuple[str, ...] | None) -> Iterator[bytes]:
    """The JSON array, chunk by chunk (Starlette iterates a sync generator in a worker thread). After the first
    (small, for an early first byte) chunk, chunks of 4 x CHUNK, and the next one is read while the previous is
    sent: at most two chunks in memory, and the database and the socket work at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    yield b"[" + first
    empty = not first
    step = CHUNK * 4
    starts = range(CHUNK, len(keys), step)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rest-page") as pool:
        pending = pool.submit(_render_chunk, db, org, keys[CHUNK:CHUNK + step], fields) if starts else None
        for start in starts:
            part = pending.result()  # type: ignore[union-attr]
            nxt = start + step
            pending = pool.submit(_render_chunk, db, org, keys[nxt:nxt + step], fields) if nxt < len(keys) else None
            if part:
                yield part if empty else b"," + part
                empty = False
    yield b"]"


# --- /events/count, /distinct, /interval ----------------------------------------------------------------------


@api()
async def events_count(request: Request) -> Response:
    query = await run_in_threadpool(parse_event_query, await json_body(request))
    db, org = await _db(request), _principal(request).organization
    return JSONResponse({"count": await run_in_threadpool(count_events, db, org, query.filter)})


@api()
async def events_distinct(request: Request) -> Response:
    """Terms-aggregation shape; `limit` caps the buckets and the rest is summed in sum_other_doc_count."""
    query, field = await run_in_threadpool(parse_distinct, await json_body(request))
    db, org = await _db(request), _principal(request).organization
    buckets, other = await run_in_threadpool(distinct_values, db, org, query.filter, field, query.limit)
    return JSONResponse({
        "buckets": [{"key": value, "doc_count": n} for value, n in buckets],
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": other,
    })


@api()
async def events_interval(request: Request) -> Response:
    """Date-histogram shape: buckets aligned to local midnight of the requested offset (weeks start Monday), empty
    buckets between the first and the last included, as the vendor's backend does."""
    query, unit, value, tz = await run_in_threadpool(parse_interval, await json_body(request))
    db, org = await _db(request), _principal(request).organization
    try:
        rows = await run_in_threadpool(event_histogram, db, org, query.filter, value * UNIT_MS[unit],
                                       bucket_origin(unit, offset_ms(tz)))
    except ValueError as exc:
        raise BadRequest(f"interval_unit/interval_value: {exc}; use a wider interval or a narrower time "
                         "range") from None
    return JSONResponse({"buckets": [
        {"key": start, "key_as_string": rfc3339(start, tz), "doc_count": n} for start, n in rows
    ]})





# --- /ingest ------------------------------------------------------------------------------------------------------


@api()
async def ingest(request: Request) -> Response:
    """Events in, through the CLI's pipeline; the whole body is received (and size-checked) before anything is
    written, so a 413 never leaves half an upload behind."""
    principal = _principal(request)
    principal.require("ingest")
    services = _services(request)
    data = await read_body(request, services.settings.max_body_bytes)
    records = body_records(data, request.headers.get("content-type", ""))
    try:
        summary: Summary = await run_in_threadpool(services.ingest, principal.organization, records)
    except IngestInterrupted as exc:  # what was stored before the failure, record by record; the rest was not
        return JSONResponse({"message": "the database failed during ingest; `results` lists exactly the records "
                                        "stored (or rejected) before it, the others were not stored; retrying the "
                                        "same body is safe (already-stored events count as duplicates)",
                             **ingest_result(exc.summary)}, 503, headers={"Retry-After": "5"})
    except UNAVAILABLE:
        raise HTTPError(503, "the database became unavailable during ingest; batches written before are kept, "
                            "and retrying the same body is safe (already-stored events count as duplicates)") from None
    return JSONResponse(ingest_result(summary))


def body_records(data: bytes, content_type: str) -> Any:
    """Records of an ingest body: a JSON array ("index N"), JSON lines ("line N"), or — as application/json — one
    event object, pretty-printed or not. Lazy, so the pipeline parses as it writes."""
    media = content_type.split(";")[0].strip().lower()
    head = data.lstrip()[:1]
    if media in ("application/json", "") and head == b"{":
        try:
            return [Record("index 0", loads(data))]
        except JSONDecodeError:
            pass  # more than one object: JSON lines sent with a loose content type
    return read_records(io.BytesIO(data))


def ingest_result(summary: Summary) -> dict[str, Any]:
    reasons = {r.where: r.reason for r in summary.rejected}
    results = [{"where": where, "id": eid or None, "status": status,
                **({"reason": reasons[where]} if status == "rejected" and where in reasons else {})}
               for where, eid, status in summary.results or []]
    results.sort(key=lambda r: index_of(r["where"]))  # input order (batches report late)
    return {
        "accepted": summary.accepted,
        "duplicates": summary.duplicates,
        "rejected": [{"where": r.where, "reason": r.reason} for r in summary.rejected],
        "results": results,
    }


# --- documents and the rest -------------------------------------------------------------------------------------


@api(methods=("GET",))
async def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi.document())


@api(methods=("GET",))
async def docs(request: Request) -> Response:
    return HTMLResponse(openapi.DOCS_HTML)


@api(methods=("GET", "POST", "PUT", "PATCH", "DELETE"))
async def not_found(request: Request) -> Response:
    raise HTTPError(404, f"no such endpoint: {request.url.path}; see /openapi.json")


def _route(path: str, endpoint: Handler) -> Route:
    """All methods reach the handler, so a wrong one gets a JSON 405 rather than Starlette's plain text."""
    return Route(path, endpoint, methods=ALL_METHODS)


routes: list[Route] = [
    _route(f"{BASE}/events", events),
    _route(f"{BASE}/events/count", events_count),
    _route(f"{BASE}/events/distinct", events_distinct),
    _route(f"{BASE}/events/interval", events_interval),
    _route(f"{BASE}/ingest", ingest),
    _route("/openapi.json", openapi_json),
    _route("/docs", docs),
    _route(BASE + "/{rest:path}", not_found),
]
