"""JSON in one place: orjson for speed (ingest and /events pages are dominated by JSON work)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def dumpb(obj: Any) -> bytes:
    return orjson.dumps(obj)


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)


JSONDecodeError = orjson.JSONDecodeError
