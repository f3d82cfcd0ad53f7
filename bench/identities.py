"""The identity graph for the benchmark's baseline and floor, computed the plainest way: in Python, from all the
events, once at the end (as both fold the access intervals at the end), with the pure rules of
app/model/identity.py. What it yields is what graph/resolution.py keeps in the graph after the same events:

    (:Identity {organization, kind, name})   every name a sign-in or a user lifecycle event mentions, and every
                                             name a user held
    (:Identity)-[:HELD_BY {organization, since, until, by_event, ended_by_event}]->(:User)
    (e)-[:NAMED {rank}]->(:Identity)         per sign-in that does not name its user's id outright
    (e)-[:AUTHENTICATED_AS {by: 'id'}]->(u)  per sign-in that does (when that user exists)
    (e)-[:AUTHENTICATED_AS {by, name}]->(u)  per other sign-in whose name someone held at its instant
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from app.model.audit import USER_AUTH_TYPES
from app.model.identity import KINDS, direct_user, fold_names, lifecycle_facts, principal_names, resolve

Name = tuple[str, str, str]  # (organization, kind, name)


class IdentityAside:
    """Kept aside while the events stream by: per user its lifecycle facts and newest names, per sign-in its
    names (or its user id). `add` returns, for one event, its NAMED rows and its direct user id."""

    def __init__(self) -> None:
        self.facts: dict[tuple[str, str], list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
        self.current: dict[tuple[str, str], dict[str, tuple[str, str]]] = defaultdict(dict)  # kind -> (order, name)
        self.users: set[tuple[str, str]] = set()
        self.mentioned: set[Name] = set()
        self.signins: list[tuple[str, str, int, list[tuple[str, str]], Any]] = []  # org, id, ts, names, handle

    def add(self, ev: Any) -> tuple[list[tuple[int, str, str]], str | None]:
        org, order = ev.organization, f"{ev.ts:015d}{ev.id}"
        refs = [ev.initiator, ev.target]
        if ev.connection is not None:
            refs += [ev.connection.a, ev.connection.b]
        for ref in refs:
            if ref is not None and ref.label == "User":
                self.users.add((org, ref.id))
                cur = self.current[(org, ref.id)]
                for kind in KINDS:
                    v = ref.props.get(kind)
                    if v is not None and order >= cur.get(kind, ("", ""))[0]:
                        cur[kind] = (order, v)
        facts = lifecycle_facts(ev.event_type, ev.raw)
        if facts is not None:
            self.facts[(org, ev.raw["resource"]["id"])].append((ev.ts, ev.id, facts))
            self.mentioned.update((org, k, n) for k, n in facts["names"].items())
            self.mentioned.update((org, k, n) for k, pair in facts["renames"].items() for n in pair if n)
        if ev.event_type not in USER_AUTH_TYPES:
            return [], None
        uid = direct_user(ev.raw)
        if uid is not None:
            return [], uid
        names = principal_names(ev.raw)
        self.mentioned.update((org, k, n) for k, n in names)
        return [(rank, k, n) for rank, (k, n) in enumerate(names)], None

    def keep_signin(self, ev: Any, names: list[tuple[int, str, str]], handle: Any = None) -> None:
        self.signins.append((ev.organization, ev.id, ev.ts, [(k, n) for _, k, n in names], handle))

    def held(self) -> list[dict[str, Any]]:
        """HELD_BY rows: every user's name intervals from all its lifecycle events and newest names."""
        rows = []
        for org, uid in sorted(self.users | set(self.facts)):
            current = {k: v[1] for k, v in self.current.get((org, uid), {}).items()}
            for h in fold_names(self.facts.get((org, uid), []), current):
                rows.append({"organization": org, "user": uid, "kind": h.kind, "name": h.name, "since": h.since,
                             "until": h.until, "by_event": h.by_event, "ended_by": h.ended_by})
        return rows

    def resolved(self, held: list[dict[str, Any]]) -> list[tuple[tuple[str, str, int, Any], tuple[str, str, str]]]:
        """(sign-in, (user, kind, name)) for every kept sign-in whose names someone held at its instant."""
        holders: dict[Name, list[tuple[int, int | None, str]]] = defaultdict(list)
        for h in held:
            holders[(h["organization"], h["kind"], h["name"])].append((h["since"], h["until"], h["user"]))
        out = []
        for org, eid, ts, names, handle in self.signins:
            found = resolve(ts, names, {(k, n): holders.get((org, k, n), []) for k, n in names})
            if found is not None:
                out.append(((org, eid, ts, handle), found))
        return out

    def identities(self, held: list[dict[str, Any]]) -> list[Name]:
        return sorted(self.mentioned | {(h["organization"], h["kind"], h["name"]) for h in held})
