"""The one mapping from an exception to an HTTP answer, used by the app's exception handlers (every route) and by the
auth middleware (which runs outside them): the caller's mistake is a 400 naming the field, a status a handler decided
on (401, 403, 404, 413, ...) is its own, and Neo4j away is a 503 with Retry-After. Bodies are the vendor's
`{"message": ...}` shape. Anything else is the observability boundary's 500 with the request id."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.model.errors import InputError
from graph.db import UNAVAILABLE

log = logging.getLogger("insightgraph")
UNAVAILABLE_MESSAGE = "the database is unavailable; retry with backoff"
INTERNAL_MESSAGE = "internal error; the request id is in the X-Request-Id header"


class HTTPError(Exception):
    """An answer other than success that the auth layer or a handler decides on: the status and the message clients
    see."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_response(exc: Exception) -> JSONResponse:
    """The answer for a known kind of failure (see the module docstring); other exceptions are re-raised."""
    if isinstance(exc, HTTPError):
        return JSONResponse({"message": exc.message}, exc.status, headers=exc.headers)
    if isinstance(exc, InputError):
        return JSONResponse({"message": str(exc)}, 400)
    if isinstance(exc, UNAVAILABLE):
        return JSONResponse({"message": UNAVAILABLE_MESSAGE}, 503, headers={"Retry-After": "5"})
    raise exc


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, UNAVAILABLE):
        log.warning("database unavailable for %s: %s", request.url.path, type(exc).__name__)
    return error_response(exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {cls: _handle for cls in (HTTPError, InputError, *UNAVAILABLE)}
