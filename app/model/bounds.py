"""Bounds on what one record may cost: hostile input must cost the attacker, not the service. `check_record` is one
walk over a parsed record before it enters the pipeline: nesting, string sizes, integers Neo4j cannot store and
strings that are not valid Unicode become that record's rejection (with the reason), instead of an encoder or
driver exception that would fail the whole call."""

from __future__ import annotations

import math
from typing import Any

import orjson

from app.model.errors import InputError

MAX_NESTING = 64  # containers inside one event (the vendor's events nest 5 deep)
MAX_STRING_CHARS = 64 * 1024  # one string value or key of an event
MAX_UA_CHARS = 1024  # what the user-agent parser sees of a user-agent string (the whole string is kept)


class RecordTooCostly(InputError):
    """A record beyond one of the bounds: the message says which, for the record's rejection."""


def check_record(value: Any) -> None:
    """Raise RecordTooCostly if `value` nests deeper than MAX_NESTING, holds a string or key over MAX_STRING_CHARS,
    an integer outside 64 bits, a number JSON cannot hold (1e999 or NaN, which the stdlib's parser turns into
    floats) or a string that is not valid Unicode (a lone UTF-16 surrogate). The integers and strings are what
    orjson refuses to encode (one C call); the walk visits containers only and is iterative, so a hostile
    depth never meets Python's recursion limit. ~10 us for a typical event."""
    if not isinstance(value, (dict, list)):
        return  # a scalar record is rejected by the event model
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        obj, depth = stack.pop()
        if depth >= MAX_NESTING:
            raise RecordTooCostly(f"nested deeper than {MAX_NESTING} levels")
        if isinstance(obj, dict):
            for k in obj:
                if not isinstance(k, str):
                    raise RecordTooCostly("an object key is not a string")
                if len(k) > MAX_STRING_CHARS:
                    raise RecordTooCostly(f"an object key is longer than {MAX_STRING_CHARS} characters")
            items: Any = obj.values()
        else:
            items = obj
        for v in items:
            if isinstance(v, (dict, list)):
                stack.append((v, depth + 1))
            elif isinstance(v, str):
                if len(v) > MAX_STRING_CHARS:
                    raise RecordTooCostly(f"a string value is longer than {MAX_STRING_CHARS} characters")
            elif isinstance(v, int) and not -(2**63) <= v < 2**63:  # orjson allows 64 unsigned bits, Neo4j not
                raise RecordTooCostly(f"the integer {str(v)[:40]} is outside the 64-bit range")
            elif isinstance(v, float) and not math.isfinite(v):  # orjson would store it as null: not as it came
                raise RecordTooCostly(f"the number {v} is not one JSON can hold (too large, or not a number)")
    try:
        orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        text = str(exc)
        if "64-bit" in text or "Integer" in text:
            raise RecordTooCostly("an integer is outside the 64-bit range") from None
        if "surrogate" in text or "UTF-8" in text:
            raise RecordTooCostly("a string value is not valid Unicode (a lone UTF-16 surrogate)") from None
        raise RecordTooCostly(f"a value is not JSON ({text[:100]})") from None
