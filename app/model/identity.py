"""Identity over time, as pure rules: which names a user held when (from the user's own lifecycle events), which
names a sign-in uses for its principal, who held one of those names at the sign-in's instant, and the account's
status over time.

Pure functions of a set of events, so that the graph built from them does not depend on arrival order: the ingest
refolds a user's name history from all the user's lifecycle events whenever one arrives, and re-resolves the
sign-ins naming any name whose history changed.

Names are case-insensitive: every name here is stripped and lower-cased (`norm`). Kinds: `username`, `email`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from app.model.intervals import HI, LO

KINDS = ("username", "email")
CREATE_TYPES = ("user_create", "user_create_provision")
UPDATE_TYPES = ("user_update", "user_update_provision")
DELETE_TYPES = ("user_delete", "user_delete_provision")
LIFECYCLE_TYPES = CREATE_TYPES + UPDATE_TYPES + DELETE_TYPES
# Events that change an account's status (user_update only when its changes touch `suspended` or `state`).
STATUS_EVENT_TYPES = ("user_suspended", "user_unsuspended", "user_activated", "user_lockout", "user_unlocked",
                      *LIFECYCLE_TYPES)
STATUSES = ("active", "suspended", "locked", "deleted")
BLOCKING = ("deleted", "suspended", "locked")  # precedence when several hold at once


def norm(value: Any) -> str | None:
    """A name as compared: stripped, lower-cased; None for anything that is not a non-empty string."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    return v or None


@dataclass(frozen=True, slots=True)
class Held:
    """`name` (of `kind`) belonged to the user from `since` until `until` (None: still), opened by event
    `by_event` (None: known only from the user's current name, held since the beginning)."""

    kind: str
    name: str
    since: int
    until: int | None
    by_event: str | None
    ended_by: str | None


def _changes(raw: dict[str, Any]) -> list[dict[str, Any]]:
    items = raw.get("changes")
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def lifecycle_facts(event_type: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """What a user lifecycle event says about names: {op: create|update|delete, names: {kind: name} the resource
    carries, renames: {kind: (old, new)}}; None when the event is not one (or targets no user)."""
    if event_type not in LIFECYCLE_TYPES:
        return None
    res = raw.get("resource")
    if not isinstance(res, dict) or str(res.get("type", "")).lower() != "user" or not res.get("id"):
        return None
    op = "create" if event_type in CREATE_TYPES else "delete" if event_type in DELETE_TYPES else "update"
    names = {k: n for k in KINDS if (n := norm(res.get(k)))}
    renames: dict[str, tuple[str | None, str | None]] = {}
    for c in _changes(raw):
        field = str(c.get("field", "")).lower()
        if field in KINDS:
            renames[field] = (norm(c.get("from")), norm(c.get("to")))
    return {"op": op, "names": names, "renames": renames}


def fold_names(facts: Iterable[tuple[int, str, dict[str, Any]]], current: dict[str, str | None]) -> list[Held]:
    """A user's name history from its lifecycle facts (ts, event id, lifecycle_facts(...)) and its current names
    (the User node's newest known username/email, for a user whose lifecycle events do not say).

    Per kind, in (ts, id) order: a create opens the name it sets; a change `from` A `to` B closes A (or whatever
    was open) and opens B — if nothing was known before, A is taken to have been held since the account began; a
    delete closes the open name. A kind the lifecycle events never name falls back to the resource's name on them,
    then to the current name, held for the account's whole life."""
    facts = sorted(facts, key=lambda f: (f[0], f[1]))
    began = next((ts for ts, _, f in facts if f["op"] == "create"), LO)
    ended = next(((ts, eid) for ts, eid, f in facts if f["op"] == "delete"), None)
    out: list[Held] = []
    for kind in KINDS:
        cur: tuple[str, int, str | None] | None = None  # (name, since, opened by)
        named = False
        for ts, eid, f in facts:
            if ended is not None and (ts, eid) > ended:
                break
            if f["op"] == "create":
                new = f["renames"].get(kind, (None, None))[1] or f["names"].get(kind)
                if new:
                    cur, named = (new, ts, eid), True
            elif f["op"] == "update" and kind in f["renames"]:
                old, new = f["renames"][kind]
                if cur is None and old and not named:
                    cur = (old, began, None)
                if cur is not None and cur[0] != new:
                    out.append(Held(kind, cur[0], cur[1], ts, cur[2], eid))
                    cur = None
                if new and (cur is None or cur[0] != new):
                    cur = (new, ts, eid)
                named = True
            elif f["op"] == "delete":
                if cur is None and not named:
                    fallback = f["names"].get(kind) or norm(current.get(kind))
                    cur = (fallback, began, None) if fallback else None
                if cur is not None:
                    out.append(Held(kind, cur[0], cur[1], ts, cur[2], eid))
                cur, named = None, True
                break
        if not named:
            fallback = next((f["names"][kind] for _, _, f in facts if kind in f["names"]), None)
            fallback = fallback or norm(current.get(kind))
            if fallback:
                cur = (fallback, began, None)
        if cur is not None:
            out.append(Held(kind, cur[0], cur[1], None, cur[2], None))
    return sorted(out, key=lambda h: (h.kind, h.since, h.name))


def principal_names(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """The names a sign-in uses for its principal, most telling first, each (kind, lower-cased name):
    initiated_by.username, username, the `uid=` of an LDAP `dn`, initiated_by.email, email; a username that looks
    like an address is also tried as an email (SSO by email)."""
    ib = raw.get("initiated_by") if isinstance(raw.get("initiated_by"), dict) else {}
    out: list[tuple[str, str]] = []
    for v in (ib.get("username"), raw.get("username"), _dn_uid(raw.get("dn"))):
        if (n := norm(v)):
            out.append(("username", n))
    for v in (ib.get("email"), raw.get("email")):
        if (n := norm(v)):
            out.append(("email", n))
    out += [("email", n) for k, n in list(out) if k == "username" and "@" in n]
    return list(dict.fromkeys(out))


def _dn_uid(dn: Any) -> str | None:
    if not isinstance(dn, str):
        return None
    for part in dn.split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "uid" and value.strip():
            return value.strip()
    return None


def direct_user(raw: dict[str, Any]) -> str | None:
    """The directory user id a sign-in names outright (initiated_by of type user with an id), if any."""
    ib = raw.get("initiated_by")
    if isinstance(ib, dict) and str(ib.get("type", "")).lower() == "user" and isinstance(ib.get("id"), str) \
            and ib["id"].strip():
        return ib["id"]
    return None


def resolve(ts: int, names: list[tuple[str, str]],
            holders: dict[tuple[str, str], list[tuple[int, int | None, str]]]) -> tuple[str, str, str] | None:
    """(user id, kind, name): who held the first of `names` that someone held at `ts` (half-open intervals
    `since <= ts < until`); several holders at once (inconsistent data): the smallest user id. None: nobody."""
    for kind, name in names:
        found = sorted(uid for since, until, uid in holders.get((kind, name), ())
                       if since <= ts and (until is None or ts < until))
        if found:
            return found[0], kind, name
    return None


@dataclass(frozen=True, slots=True)
class StatusSpan:
    """The account was `status` from `since` until `until` (None: still), set by event `by_event`."""

    status: str
    since: int
    until: int | None
    by_event: str | None


def status_facts(event_type: str, raw: dict[str, Any]) -> dict[str, bool]:
    """Which account flags an event sets: {created|suspended|locked|deleted: bool}; empty when none."""
    t = event_type
    if t in CREATE_TYPES:
        return {"created": True}
    if t in DELETE_TYPES:
        return {"deleted": True}
    if t == "user_suspended":
        return {"suspended": True}
    if t in ("user_unsuspended", "user_activated"):
        return {"suspended": False}
    if t == "user_lockout":
        return {"locked": True}
    if t == "user_unlocked":
        return {"locked": False}
    out: dict[str, bool] = {}
    if t in UPDATE_TYPES:
        for c in _changes(raw):
            field, to = str(c.get("field", "")).lower(), c.get("to")
            if field == "suspended" and isinstance(to, bool):
                out["suspended"] = to
            elif field in ("state", "account_locked") and isinstance(to, (str, bool)):
                if field == "account_locked" and isinstance(to, bool):
                    out["locked"] = to
                elif isinstance(to, str) and to.lower() in ("suspended", "activated", "active", "staged"):
                    out["suspended"] = to.lower() == "suspended"
    return out


def fold_status(facts: Iterable[tuple[int, str, dict[str, bool]]]) -> list[StatusSpan]:
    """Status spans from (ts, event id, status_facts(...)) in (ts, id) order: active from the creation (or from
    the beginning when no creation is stored); deleted is final; suspended and locked are flags, deleted >
    suspended > locked > active when several hold."""
    flags = {"suspended": False, "locked": False, "deleted": False}
    spans: list[StatusSpan] = []
    facts = sorted(facts, key=lambda f: (f[0], f[1]))
    start = next((ts for ts, _, f in facts if f.get("created")), LO)
    cur = StatusSpan("active", start, None, None)
    for ts, eid, f in facts:
        if flags["deleted"]:
            break
        for k, v in f.items():
            if k in flags:
                flags[k] = v
        status = next((s for s in BLOCKING if flags[s]), "active")
        if status != cur.status:
            spans.append(StatusSpan(cur.status, cur.since, ts, cur.by_event))
            cur = StatusSpan(status, ts, None, eid)
    spans.append(cur)
    return [s for s in spans if s.until is None or s.since < s.until]


def status_at(spans: list[StatusSpan], ts: int) -> StatusSpan | None:
    """The span holding at `ts`; None before the account existed."""
    for s in spans:
        if s.since <= ts and (s.until is None or ts < s.until):
            return s
    return None


def blocked_by(span: StatusSpan | None) -> str | None:
    """Why access is not effective at that instant: the account's blocking status, or None."""
    if span is None:
        return None
    return span.status if span.status in BLOCKING else None


__all__ = ["HI", "LO", "Held", "StatusSpan", "blocked_by", "direct_user", "fold_names", "fold_status",
           "lifecycle_facts", "norm", "principal_names", "resolve", "status_at", "status_facts"]
