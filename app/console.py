"""The investigator console, GraphiQL and the API docs page, served from assets inside the package.

The assets are built from `console/` (Vite) into `app/console_assets/` and committed, so `pip install` needs no
Node and no page asks any other host for anything; the Content-Security-Policy on every response says so to the
browser. The console is a single-page app: every console path (deep links such as `/users/<id>`) answers with
the same index.html, which then reads the path and query string. Pages and assets are public (they hold no
data); everything they show comes from /graphql with the caller's key.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "console_assets"
PAGES = ("/", "/activity", "/investigations", "/reports")
PAGE_PREFIXES = ("/users/", "/resources/", "/assets/")

# Scripts, styles, fonts, images and connections: this origin only ('self' covers ws:/wss: to it as well).
# Inline styles are allowed because GraphiQL's editor and Redoc (styled-components) inject them; inline and
# foreign scripts are not. Redoc runs its search index in a worker from a blob: URL.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]

_MISSING = ("the console's assets are not built: run `npm ci && npm run build` in console/ "
            "(a release ships them in app/console_assets)")


def is_console_page(scope: dict[str, Any]) -> bool:
    """A GET of a console page or a static asset: public, like GraphiQL's page."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    path = scope["path"]
    return path in PAGES or path.startswith(PAGE_PREFIXES)


@lru_cache(maxsize=4)
def _read(name: str) -> str | None:
    path = ASSETS / name
    return path.read_text() if path.is_file() else None


async def index(request: Request) -> Response:
    html = _read("index.html")
    if html is None:
        return PlainTextResponse(_MISSING, 503)
    return HTMLResponse(html, headers={"cache-control": "no-cache"})


def graphiql_html(examples: list[dict[str, str]]) -> str:
    """GraphiQL (with the explorer plugin) from our assets, opened on `examples` as tabs. They travel in a JSON
    data block, not an inline script, so the CSP can forbid inline scripts."""
    html = _read("graphiql.html")
    if html is None:
        return f"<!doctype html><title>GraphiQL</title><p>{_MISSING}</p>"
    data = json.dumps(examples).replace("<", "\\u003c")
    return html.replace('<script type="application/json" id="ig-examples">[]</script>',
                        f'<script type="application/json" id="ig-examples">{data}</script>', 1)


def routes() -> list[BaseRoute]:
    out: list[BaseRoute] = [Route(p, index, methods=["GET", "HEAD"]) for p in PAGES]
    out += [Route("/users/{id:path}", index, methods=["GET", "HEAD"]),
            Route("/resources/{id:path}", index, methods=["GET", "HEAD"])]
    if (ASSETS / "assets").is_dir():
        out.append(Mount("/assets", StaticFiles(directory=ASSETS / "assets")))
    return out


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class SecurityHeadersMiddleware:
    """Adds the CSP and friends to every HTTP response (JSON answers are harmless to cover too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
