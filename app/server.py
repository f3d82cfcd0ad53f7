"""The HTTP service: GraphQL at /graphql (GraphiQL in a browser), the vendor-compatible REST API under
/insights/directory/v1, health and metrics. `create_app` wires settings -> database -> routes; nothing here knows
Cypher."""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import timedelta
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET

from app import bootstrap
from app.auth import AuthMiddleware, authenticate
from app.console import SecurityHeadersMiddleware, routes as console_routes
from app.http_errors import EXCEPTION_HANDLERS, HTTPError
from app.ingest.enrich import Enricher
from app.gql import fast_http
from app.gql.context import Context
from app.gql.entity_types import wrap
from app.gql.schema import schema
from app.gql.websocket import (INIT_SECONDS, MAX_SUBSCRIPTIONS_PER_CONNECTION, InitTimeoutGraphQLWSHandler,
                               ws_secret)
from app.http_limits import GRAPHQL_MAX_BODY, BodyLimit, KeyLimitMiddleware
from app.ingest import IngestInterrupted, Summary
from app.observability import ObservabilityMiddleware, is_unavailable, metrics, record_ingest
from app.ingest.records import Record
from app.ingest.rehearsal import WritePathWarmer
from app.rest.endpoints import routes as rest_routes
from app.settings import Settings
from graph.db import Database, DatabaseUnavailable

log = logging.getLogger("insightgraph")
CLOSE_GRACE = 5.0  # seconds the driver waits at shutdown for the calls still using it


class Services:
    """What request handlers share: the database (connected lazily, so the service starts — and says it is not
    ready — while Neo4j is away) and the one ingest pipeline configuration."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._db = db
        self._owns_db = db is None  # a database handed in (tests, embedding) is the caller's to close
        self._lock = threading.Lock()
        self._schema_ready = db is not None
        self.enricher = Enricher(settings.geoip_db)
        self.warmer: WritePathWarmer | None = None  # once connected (never for a database handed in)

    @property
    def db(self) -> Database:
        with self._lock:
            if self._db is None:
                self._db = bootstrap.connect(self.settings, self.settings.query_timeout_seconds,
                                             self.settings.serve_retry_seconds)
            if not self._schema_ready:
                bootstrap.prepare(self._db)
                self._schema_ready = True
                if self.settings.warm_writes:
                    self.warmer = WritePathWarmer(self._db)
                    self.warmer.start()
            return self._db

    def connect_soon(self) -> None:
        """Connect (and so warm the write path) in the background at start, not on the first request; a Neo4j
        that is away is left to the first request that needs it."""
        def connect() -> None:
            try:
                self.db
            except Exception:  # noqa: BLE001 - the request that needs it reports it
                pass
        threading.Thread(target=connect, name="connect", daemon=True).start()

    def ready(self) -> bool:
        try:
            self.db.verify()
            return True
        except DatabaseUnavailable:
            return False

    def ingest(self, organization: str, records: list[Record]) -> Summary:
        pipeline = bootstrap.make_pipeline(self.settings, self.db, organization, self.enricher)
        summary = Summary()
        try:
            pipeline.run(records, summary, per_event=True)
        except Exception as exc:  # the database failed mid-call: the caller learns exactly what was stored
            record_ingest(summary, "api")
            if is_unavailable(exc) or isinstance(exc, DatabaseUnavailable):
                raise IngestInterrupted(summary) from exc
            raise
        record_ingest(summary, "api")
        return summary

    def close(self) -> None:
        """At shutdown, after uvicorn has let in-flight requests finish: the rehearsal stops after its batch, and
        the driver closes once nothing uses it (CLOSE_GRACE at most: a request cut by the graceful-shutdown timeout
        may still hold a connection in the thread pool)."""
        if self.warmer is not None:
            self.warmer.stop()
        if self._db is not None and self._owns_db:
            if not self._db.close(grace=CLOSE_GRACE):
                log.warning("Neo4j connections still in use at shutdown are left to the exit; Neo4j rolls back "
                            "what they had open")
            self._db, self._schema_ready = None, False
        self.enricher.close()


class _RequestContext(Context):
    """Notes in the request state when a resolver's database call found Neo4j unreachable."""

    request_state: dict[str, Any] | None = None

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().run(fn, *args, **kwargs)
        except Exception as exc:
            if self.request_state is not None and is_unavailable(exc):
                self.request_state["neo4j_unavailable"] = True
            raise


class GraphQLView(GraphQL):
    graphql_ws_handler_class = InitTimeoutGraphQLWSHandler  # legacy graphql-ws: connection_init within a bound

    def __init__(self, services: Services, **kwargs: Any) -> None:
        super().__init__(schema, connection_init_wait_timeout=timedelta(seconds=INIT_SECONDS),
                         max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION, **kwargs)
        self.services = services

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:  # type: ignore[override]
        """A POST the service has answered before goes the short way (app/gql/fast_http.py); all else the view's."""
        if isinstance(request, Request) and context is UNSET and root_value is UNSET:
            found = await fast_http.known(self, request)
            if found is not None:
                return await fast_http.answer(self, request, found)
        return await super().run(request, context, root_value)

    def decode_json(self, data: str | bytes) -> object:
        """orjson (fast, and its nesting limit refuses a 5,000-deep body as bad JSON, a 400, where the stdlib
        raises RecursionError, a 500); the stdlib only for what orjson refuses but JSON allows (a lone surrogate
        escape, which the ingest mutation then rejects for its one event)."""
        from app.gql.offload import decode_body

        return decode_body(data)

    def encode_json(self, data: object) -> str | bytes:
        """orjson (a 181-resource access is ~9,000 fields: the stdlib encoder was 6% of its time); the stdlib
        for what orjson refuses (an integer over 64 bits, a lone surrogate), so the bytes mean the same."""
        import orjson

        try:
            return orjson.dumps(data).decode()  # text: WebSocket messages must be text frames
        except TypeError:
            return super().encode_json(data)

    @property
    def graphql_ide_html(self) -> str:
        from app.console import graphiql_html
        from app.gql.examples import EXAMPLES

        return graphiql_html(EXAMPLES)  # our bundled GraphiQL, not strawberry's CDN page

    async def get_context(self, request: Any, response: Any) -> Context:  # type: ignore[override]
        principal = request.scope.get("state", {}).get("principal")
        ctx = _RequestContext(db=self.services.db, principal=principal, services=self.services, wrap=wrap)
        ctx.request_state = request.scope.setdefault("state", {})
        return ctx

    async def process_result(self, request: Any, result: Any) -> Any:  # type: ignore[override]
        """Neo4j lost during a resolver: a 503 (from the error middleware), not a masked error in a 200."""
        if request.scope.get("state", {}).get("neo4j_unavailable"):
            raise DatabaseUnavailable("Neo4j became unreachable during the request")
        return await super().process_result(request, result)

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """Browsers cannot set headers on a WebSocket: the key may come in the connection_init payload."""
        if context.principal is not None:
            return None
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        secret = ws_secret(params)  # any non-string value is simply no key: a 4403 like a bad one
        org = params.get("x-org-id")
        try:
            from starlette.concurrency import run_in_threadpool

            context.principal = await run_in_threadpool(
                authenticate, context.db, secret if isinstance(secret, str) else None,
                [org] if isinstance(org, str) else [])
        except HTTPError:
            raise ConnectionRejectionError() from None
        return None


async def healthz(request: Request) -> Response:
    """The process is up (says nothing about the database)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers: load balancers send traffic only while this is 200."""
    from starlette.concurrency import run_in_threadpool

    services: Services = request.app.state.services
    if await run_in_threadpool(services.ready):
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "message": f"Neo4j at {services.settings.bolt_uri} is not "
                                                             "reachable"}, 503)


def _lifespan(services: Services) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services.connect_soon()
        yield
        services.close()

    return lifespan


def create_app(settings: Settings | None = None, db: Database | None = None) -> Starlette:
    settings = settings or Settings()
    services = Services(settings, db)
    graphql = GraphQLView(services, graphql_ide="graphiql")
    routes: list[Any] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    routes += rest_routes
    routes += console_routes()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ObservabilityMiddleware, probe=services.ready),  # outermost: ids, logs, errors
                    Middleware(SecurityHeadersMiddleware),
                    Middleware(BodyLimit, limit=min(settings.max_body_bytes, GRAPHQL_MAX_BODY)),
                    Middleware(AuthMiddleware, get_db=lambda: services.db),
                    Middleware(KeyLimitMiddleware)],  # per-key concurrency (app/http_limits.py)
        lifespan=_lifespan(services),
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.services = services
    return app
