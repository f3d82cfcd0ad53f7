"""The HTTP floor of the query bench: a bare ASGI app on uvicorn (the server `insightgraph serve` runs on, with
the same httptools parser and uvloop loop) that reads the request body and answers a constant GraphQL result.

What any Python HTTP service costs this client per request before it does anything: `bench/query.py` times it
beside the others, so `(floor + Cypher) / Cypher` is the lowest ratio to the hand-written Cypher any such
service could show for a query on this machine.

    python -m uvicorn --app-dir bench http_floor:app --port 8767
"""

from __future__ import annotations

from typing import Any

ANSWER = b'{"data":{"__typename":"Query"}}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": ANSWER})
