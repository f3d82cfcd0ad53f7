"""Reading events from a stream: JSON lines or one JSON array, without holding the whole input in memory.

Each record comes with where it was found ("line 12", "index 3") so a rejection can say exactly where to look.
A record that is not valid JSON is yielded as an error, and reading goes on with the next line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Iterator

import ijson

from app.model.jsonutil import JSONDecodeError, loads


@dataclass(frozen=True, slots=True)
class Record:
    where: str
    value: Any = None
    error: str | None = None


def read_records(stream: IO[bytes]) -> Iterator[Record]:
    """JSON lines, or a single JSON array of events (detected by the first non-blank byte)."""
    head = b""
    while True:
        chunk = stream.read(1)
        if not chunk:
            return
        if not chunk.isspace():
            head = chunk
            break
    if head == b"[":
        yield from _array(stream)
    else:
        yield from _lines(head, stream)


def _lines(head: bytes, stream: IO[bytes]) -> Iterator[Record]:
    first = True
    for number, line in enumerate(stream, start=1):
        if first:
            line, first = head + line, False
        line = line.strip()
        if not line:
            continue
        try:
            yield Record(f"line {number}", loads(line))
        except JSONDecodeError as exc:
            yield Record(f"line {number}", error=f"invalid JSON ({exc})")


class _Prefixed:
    """A stream with its already-read first byte put back."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = head, stream

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson probes with read(0); it must not swallow the stream
            return b""
        if self.head:
            out, self.head = self.head + self.stream.read(max(n - 1, 0) if n > 0 else -1), b""
            return out
        return self.stream.read(n)


def _array(stream: IO[bytes]) -> Iterator[Record]:
    index = 0
    try:
        for value in ijson.items(_Prefixed(b"[", stream), "item", use_float=True):
            yield Record(f"index {index}", value)
            index += 1
    except ijson.JSONError as exc:
        yield Record(f"index {index}", error=f"invalid JSON ({exc}); the rest of the array could not be read")
