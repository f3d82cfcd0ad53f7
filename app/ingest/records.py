"""Reading events from a stream: JSON lines or one JSON array, without holding the whole input in memory.

Each record comes with where it was found ("line 12", "index 3") so a rejection can say exactly where to look.
A record that is not valid JSON is yielded as an error, and reading goes on with the next line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any, Iterator

import ijson

from app.model.jsonutil import JSONDecodeError, loads
from app.model.bounds import MAX_NESTING


@dataclass(frozen=True, slots=True)
class Record:
    where: str
    value: Any = None
    error: str | None = None


def index_of(where: str) -> int:
    """The position in a request's array of a record placed as `index N` (the API callers' results are by index)."""
    return int(where.rsplit(" ", 1)[-1])


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
    """The array's elements from ijson's flat event stream (no prefix strings: ijson.items keeps one per open
    container, so its memory grows with the square of the nesting). An element nested deeper than MAX_NESTING is
    skipped, counting depth only, and becomes that element's rejection; reading goes on with the next one."""
    index = 0
    try:
        for value in _elements(ijson.basic_parse(_Prefixed(b"[", stream), use_float=True)):
            if value is _TOO_DEEP:
                yield Record(f"index {index}", error=f"nested deeper than {MAX_NESTING} levels")
            else:
                yield Record(f"index {index}", value)
            index += 1
    except ijson.JSONError as exc:
        yield Record(f"index {index}", error=f"invalid JSON ({exc}); the rest of the array could not be read")


_TOO_DEEP = object()
_OPEN = {"start_map": dict, "start_array": list}


def _elements(events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    """Build each element of the top-level array from (event, value) pairs, in memory linear in its size."""
    first = next(events, None)
    if first is None or first[0] != "start_array":
        return
    stack: list[Any] = []  # the containers of the element being built, outermost first
    keys: list[Any] = []  # the pending map key at each level (None inside a list)
    skipping = 0  # > 0: inside a too-deep element, only depth is tracked
    for event, value in events:
        if skipping:
            if event in _OPEN:
                skipping += 1
            elif event in ("end_map", "end_array"):
                skipping -= 1
                if skipping == 0:
                    stack, keys = [], []
                    yield _TOO_DEEP
            continue
        if event == "map_key":
            keys[-1] = value
            continue
        if event in _OPEN:
            if len(stack) >= MAX_NESTING:
                skipping = len(stack) + 1  # every open level of this element, closed one by one from here
                continue
            container = _OPEN[event]()
            if stack:
                _add(stack[-1], keys[-1], container)
            stack.append(container)
            keys.append(None)
            continue
        if event in ("end_map", "end_array"):
            if not stack:  # the top-level array closed
                return
            done = stack.pop()
            keys.pop()
            if not stack:
                yield done
            continue
        if not stack:  # a scalar element
            yield value
        else:
            _add(stack[-1], keys[-1], value)


def _add(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container.append(value)
