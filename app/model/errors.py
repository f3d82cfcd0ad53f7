"""One base for every error that is the caller's fault. The entrypoints map it once: HTTP 400 naming the field, a
GraphQL error with its path, a CLI line with the line number."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input; the message names the offending part (a field, a dot path, a filter path)."""


class EventError(InputError):
    """An event that cannot be accepted; `field` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
