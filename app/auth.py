"""Who is calling, for which organization, allowed to do what: one ASGI middleware in front of every API route.

A key arrives as `x-api-key` (the vendor's header) or `Authorization: Bearer`. A key may hold several
organizations; `x-org-id` picks one (required when there are several). No key or a bad key: 401; an organization
or action the key does not hold: 403. The secret is never logged or echoed back. Resolvers and handlers only ever
see `Principal.organization` — the single organization every query they run is scoped to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from app.http_errors import HTTPError, error_response
from app.console import is_console_page
from app.key_cache import KeyCache
from graph.db import UNAVAILABLE, Database, DatabaseUnavailable, QueryTimeout
from graph.keys import ApiKey, verify_key

PUBLIC = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")


@dataclass(frozen=True)
class Principal:
    key: ApiKey
    organization: str

    def require(self, scope: str) -> None:
        if not self.key.allows(scope):
            raise HTTPError(403, f"this API key has scope '{self.key.scope}'; '{scope}' is required")


def presented_secret(headers: Mapping[str, str]) -> str | None:
    secret = headers.get("x-api-key")
    if not secret:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            secret = auth[7:].strip()
    return secret or None


def authenticate(db: Database, secret: str | None, org_ids: list[str], cache: KeyCache | None = None) -> Principal:
    """The principal for a secret and the requested organization(s); raises HTTPError(401|403). With a cache,
    a key verified before is not looked up again until a revocation (app/key_cache.py bounds the delay)."""
    if not secret:
        raise HTTPError(401, "an API key is required: send it as the x-api-key header")
    key = cache.verify(db, secret) if cache is not None else verify_key(db, secret)
    if key is None:
        raise HTTPError(401, "the API key is not valid (unknown or revoked)")
    return principal_for(key, org_ids)


def principal_for(key: ApiKey, org_ids: list[str]) -> Principal:
    """The principal of a verified key for the requested organization(s); raises HTTPError(403)."""
    orgs = list(dict.fromkeys(o.strip() for o in org_ids if o.strip()))
    if len(orgs) > 1:
        raise HTTPError(403, "x-org-id: one organization per request")
    if not orgs:
        if len(key.organizations) != 1:
            raise HTTPError(403, "x-org-id is required: this key holds several organizations")
        return Principal(key, key.organizations[0])
    if orgs[0] not in key.organizations:
        raise HTTPError(403, f"x-org-id: this API key may not access organization {orgs[0]!r}")
    return Principal(key, orgs[0])


def _has_query(scope: dict) -> bool:
    """A GET /graphql that carries an operation (`?query=`) is an API request like a POST: it needs a key."""
    from urllib.parse import parse_qs

    return "query" in parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class AuthMiddleware:
    """Puts `scope["state"]["principal"]` on every non-public HTTP request, or answers 401/403 itself.

    WebSocket upgrades pass through with the principal when their headers carry a key; otherwise the GraphQL
    view authenticates the `connection_init` payload (browsers cannot set headers on a WebSocket).
    """

    def __init__(self, app: ASGIApp, get_db: Callable[[], Database]) -> None:
        self.app = app
        self.get_db = get_db
        self.keys = KeyCache()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].rstrip("/") in PUBLIC or \
                scope["path"] == "/graphql" and scope["type"] == "http" and scope["method"] == "GET" and \
                not _has_query(scope) or is_console_page(scope):  # the console's pages and assets hold no data
            await self.app(scope, receive, send)  # GraphiQL's page itself is public; its requests are not
            return
        headers = Headers(scope=scope)
        secret = presented_secret(headers)
        if scope["type"] == "websocket" and not secret:
            await self.app(scope, receive, send)
            return
        try:
            cached = self.keys.peek(secret) if secret else None  # no thread hop when nothing needs the database
            if cached is not None:
                principal = principal_for(cached, headers.getlist("x-org-id"))
            else:
                principal = await run_in_threadpool(authenticate, self.get_db(), secret,
                                                    headers.getlist("x-org-id"), self.keys)
        except HTTPError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403 if exc.status == 403 else 4401})
                return
            await error_response(exc)(scope, receive, send)
            return
        except (*UNAVAILABLE, QueryTimeout) as exc:  # the key could not be checked: the database's fault, a 503
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013})  # "try again later"
                return
            raise DatabaseUnavailable("the API key could not be checked: Neo4j did not answer in time") from exc
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
