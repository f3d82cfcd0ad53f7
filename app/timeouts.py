"""Connection timeouts uvicorn lacks: a client must finish a request's headers within HEADER_SECONDS of connecting
(or of the previous response). Without it a slow-header client (no key needed) holds a connection forever.

uvicorn already closes idle keep-alive connections (`timeout_keep_alive`) and bounds WebSocket frames
(`ws_max_size`) and liveness (`ws_ping_interval`/`ws_ping_timeout`); slow bodies are bounded by
`app.http_limits.BodyLimit`. What a reverse proxy in front should add is in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
WS_MAX_BYTES = 1024 * 1024  # one WebSocket message (a subscribe with its variables)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are not complete in time."""

    header_seconds = HEADER_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request's headers get the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_seconds, self._expire)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The timeouts and sizes `insightgraph serve` runs uvicorn with."""
    return {"http": HeaderTimeoutProtocol, "timeout_keep_alive": KEEP_ALIVE_SECONDS, "ws_max_size": WS_MAX_BYTES,
            "ws_ping_interval": 20.0, "ws_ping_timeout": 20.0}
