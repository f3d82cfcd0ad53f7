"""Time, one home: RFC 3339 in and out, epoch milliseconds everywhere inside, and the histogram bucket grid both
APIs share."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from app.model.errors import EventError, InputError

UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
MONDAY_MS = 4 * UNIT_MS["d"]  # 1970-01-05 was a Monday
MAX_BUCKETS = 10_000  # an interval query answering more buckets than this is refused
MAX_INTERVAL_VALUE = 1_000_000  # "1000000m" is the widest bucket either API accepts
_TZ = re.compile(r"^([+-])(\d{2})(?::?(\d{2}))?$")
_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$"
)


def parse_timestamp(value: Any, field: str = "timestamp") -> int:
    """RFC 3339 with 0-9 fractional digits and any offset -> epoch milliseconds (fractions below 1 ms floored)."""
    if not isinstance(value, str):
        raise EventError(field, f"must be an RFC 3339 string, not {type(value).__name__}")
    m = _TS.match(value.strip())
    if not m:
        raise EventError(field, f"{value!r} is not an RFC 3339 timestamp")
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        tz = timezone.utc
        if off not in ("Z", "z"):
            sign = 1 if off[0] == "+" else -1
            digits = off[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=tz)
    except ValueError as exc:
        raise EventError(field, f"{value!r} is not a valid date/time ({exc})") from None
    ms = int(((frac or "") + "000")[:3])
    return int(dt.timestamp()) * 1000 + ms


def format_ms(ms: int) -> str:
    """Epoch milliseconds -> RFC 3339 UTC with millisecond precision."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def now_ms() -> int:
    return int(time.time() * 1000)


def to_ms(value: datetime) -> int:
    """Epoch ms; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp() * 1000)


def optional_ms(value: datetime | None) -> int | None:
    """`to_ms` for an optional argument (None: unbounded / now, as the caller decides)."""
    return None if value is None else to_ms(value)


def ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def bucket_origin(unit: str, tz_offset_ms: int) -> int:
    """Where histogram buckets start, for both APIs: local midnight of the epoch in the requested UTC offset, so hour
    and day buckets align with the zone; week buckets start on a Monday."""
    return -tz_offset_ms + (MONDAY_MS if unit == "w" else 0)


_EPOCH = datetime(1970, 1, 1)
_CYCLE_MS = 146_097 * UNIT_MS["d"]  # 400 Gregorian years: the calendar (and weekdays) repeat exactly
_MIN_MS = int((datetime.min - _EPOCH).total_seconds()) * 1000
_MAX_MS = int((datetime(9999, 12, 31) - _EPOCH).total_seconds()) * 1000


def rfc3339(ms: int, tz: timezone) -> str:
    """Epoch ms as RFC 3339 in a fixed offset, with milliseconds ("Z" for UTC). Years outside 1..9999 (a very
    wide bucket can start there) are shifted by whole 400-year cycles to format, then written with their sign."""
    local = ms + int(tz.utcoffset(None).total_seconds() * 1000)  # type: ignore[union-attr]
    cycles = 0
    if local < _MIN_MS:
        cycles = -((_MIN_MS - local) // _CYCLE_MS + 1)
    elif local > _MAX_MS:
        cycles = (local - _MAX_MS) // _CYCLE_MS + 1
    text = (_EPOCH + timedelta(milliseconds=local - cycles * _CYCLE_MS)).isoformat(timespec="milliseconds")
    year = int(text[:4]) + 400 * cycles
    offset = "Z" if tz.utcoffset(None) == timedelta(0) else tz.tzname(None).removeprefix("UTC")  # type: ignore[union-attr]
    return f"{'-' if year < 0 else ''}{abs(year):04d}{text[4:]}{offset or 'Z'}"


def parse_utc_offset(value: Any) -> timezone:
    """A fixed UTC offset (\"-0500\", \"+05:30\", \"Z\"); raises InputError naming `timezone`."""
    if value is None:
        return timezone.utc
    text = value.strip() if isinstance(value, str) else None
    if text in ("", "Z", "z", "UTC", "utc"):
        return timezone.utc
    m = _TZ.match(text or "")
    if not m or int(m[2]) > 23 or int(m[3] or 0) > 59:
        raise InputError(f'timezone: {_shown(value)} is not a UTC offset like "-0500", "+05:30" or "Z"')
    minutes = int(m[2]) * 60 + int(m[3] or 0)
    if minutes == 0:
        return timezone.utc
    return timezone(timedelta(minutes=-minutes if m[1] == "-" else minutes))


def offset_ms(tz: timezone) -> int:
    return int(tz.utcoffset(None).total_seconds() * 1000)  # type: ignore[union-attr]


def bucket_span(bounds: tuple[int, int], width_ms: int, origin_ms: int) -> tuple[int, int]:
    """The first and last bucket start on the grid (`origin_ms` + k * `width_ms`) covering the first and last
    matching event; a ValueError when that is more than MAX_BUCKETS buckets."""
    lo, hi = (origin_ms + (b - origin_ms) // width_ms * width_ms for b in bounds)
    if (hi - lo) // width_ms + 1 > MAX_BUCKETS:
        raise ValueError(f"more than {MAX_BUCKETS} buckets between the first and last matching event")
    return lo, hi


def _shown(value: Any) -> str:
    """repr() for messages, cut short: request text echoed back should stay small."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Durations and instants as options spell them: `90d`, `10m`, `30s`, `12h`, `2w`, or RFC 3339.
_DURATION_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$", re.IGNORECASE)


def parse_duration_ms(text: str) -> int:
    """`10m` -> 600000; ValueError naming the accepted forms otherwise."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not a duration (a number and one of ms, s, m, h, d, w: e.g. 10m, 90d)")
    return int(float(m.group(1)) * _DURATION_UNITS_MS[m.group(2).lower()])


def parse_since_ms(text: str, now: int | None = None) -> int:
    """An RFC 3339 instant, or a duration back from `now` (epoch ms; the clock when None)."""
    try:
        return (now_ms() if now is None else now) - parse_duration_ms(text)
    except ValueError:
        pass
    try:
        return parse_timestamp(text, "since")
    except EventError:
        raise ValueError(f"{text!r} is neither an RFC 3339 instant nor a duration such as 90d") from None
