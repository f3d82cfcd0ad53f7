"""The HTTP floor of the query bench: a bare ASGI app on uvicorn (the server `insightgraph serve` runs on, with
the same httptools parser and uvloop loop) that reads the request body and answers with fixed bytes.

What any Python HTTP service costs this client per request before it does any work: `bench/query.py` times it
beside the others — `POST /<query name>` answers the bytes insightgraph answered to that query (written to
`$HTTP_FLOOR_DIR/<query name>.json` before the timing starts), so the request, the response's size and the
client's parsing of it are the same; any other path answers `{"data":{"__typename":"Query"}}`.
`(floor + Cypher) / Cypher` is then the lowest ratio to the hand-written Cypher any HTTP service could show for
a query on this machine.

    HTTP_FLOOR_DIR=/tmp/answers python -m uvicorn --app-dir bench http_floor:app --port 8767
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

TRIVIAL = b'{"data":{"__typename":"Query"}}'
_ANSWERS: dict[str, bytes] = {}


def _answer(path: str) -> bytes:
    name = path.strip("/")
    if name not in _ANSWERS:  # read once: the timed requests only send
        file = Path(os.environ.get("HTTP_FLOOR_DIR", "/nonexistent")) / f"{name}.json"
        _ANSWERS[name] = file.read_bytes() if name.isidentifier() and file.is_file() else TRIVIAL
    return _ANSWERS[name]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = _answer(scope["path"])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
