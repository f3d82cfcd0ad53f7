"""Durations and instants as the sync options spell them: `90d`, `10m`, `30s`, `12h`, `2w`, or RFC 3339."""

from __future__ import annotations

import re
import time

from app.events import EventError, parse_timestamp

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE)


def parse_duration_ms(text: str) -> int:
    """`10m` -> 600000; ValueError naming the accepted forms otherwise."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a duration (a number and one of ms, s, m, h, d, w: e.g. 10m, 90d)")
    return int(float(m.group(1)) * _UNITS_MS[m.group(2).lower()])


def parse_since_ms(text: str, now_ms: int | None = None) -> int:
    """An RFC 3339 instant, or a duration back from now."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        return now_ms - parse_duration_ms(text)
    except ValueError:
        pass
    try:
        return parse_timestamp(text, "since")
    except EventError:
        raise ValueError(f"{text!r} is neither an RFC 3339 instant nor a duration such as 90d") from None
