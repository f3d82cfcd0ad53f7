"""WebSocket guard rails: connection_init within INIT_SECONDS on both protocols, a bounded number of subscriptions
per connection, and the key in connection_init read defensively (any non-string is no key, refused with 4403)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

INIT_SECONDS = 10.0
MAX_SUBSCRIPTIONS_PER_CONNECTION = 10


def ws_secret(params: dict[str, Any]) -> str | None:
    """The key from a connection_init payload: `x-api-key`, else `authorization` ("Bearer ..."); strings only."""
    key = params.get("x-api-key")
    if isinstance(key, str) and key:
        return key
    auth = params.get("authorization")
    if isinstance(auth, str):
        return auth.removeprefix("Bearer ").strip() or None
    return None


class InitTimeoutGraphQLWSHandler(BaseGraphQLWSHandler):
    """Strawberry's legacy `graphql-ws` handler, which waits for connection_init forever: closed with 4408 when it
    has not come (and been accepted) within INIT_SECONDS, as graphql-transport-ws does."""

    init_seconds = INIT_SECONDS

    async def handle(self) -> None:
        watchdog = asyncio.create_task(self._expire())
        try:
            await super().handle()
        finally:
            watchdog.cancel()
            with contextlib.suppress(BaseException):
                await watchdog

    async def _expire(self) -> None:
        await asyncio.sleep(self.init_seconds)
        if not self.connection_acknowledged:
            with contextlib.suppress(Exception):
                await self.websocket.close(code=4408, reason="Connection initialisation timeout")
