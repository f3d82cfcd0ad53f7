"""The identity rules without a database: name history from lifecycle events, the names a sign-in uses, who held a
name at an instant, account status over time."""

from __future__ import annotations

import itertools

from app.model.identity import (LO, Held, StatusSpan, blocked_by, direct_user, fold_names, fold_status,
                                lifecycle_facts, principal_names, resolve, status_at, status_facts)


def user_event(event_type: str, username: str | None = None, changes: list | None = None) -> dict:
    res = {"id": "u1", "type": "user"} | ({"username": username} if username else {})
    return {"event_type": event_type, "resource": res, "changes": changes or []}


def facts(*items: tuple[int, str, dict]) -> list:
    return [(ts, eid, lifecycle_facts(raw["event_type"], raw)) for ts, eid, raw in items]


def test_create_rename_delete_give_three_intervals() -> None:
    story = facts(
        (10, "a", user_event("user_create", "JDoe", [{"field": "email", "to": "J@x.org"}])),
        (20, "b", user_event("user_update", "jdoe", [{"field": "username", "from": "jdoe", "to": "John.Doe"}])),
        (30, "c", user_event("user_delete", "john.doe")),
    )
    held = fold_names(story, {"username": "john.doe"})
    assert held == [Held("email", "j@x.org", 10, 30, "a", "c"), Held("username", "jdoe", 10, 20, "a", "b"),
                    Held("username", "john.doe", 20, 30, "b", "c")]
    for perm in itertools.permutations(story):  # a pure function of the set of events
        assert fold_names(list(perm), {"username": "john.doe"}) == held


def test_a_rename_without_a_stored_create_means_the_old_name_was_held_before() -> None:
    story = facts((20, "b", user_event("user_update", None, [{"field": "username", "from": "old", "to": "new"}])))
    assert fold_names(story, {"username": "new"}) == [Held("username", "old", LO, 20, None, "b"),
                                                      Held("username", "new", 20, None, "b", None)]


def test_without_lifecycle_events_the_current_name_is_held_forever() -> None:
    assert fold_names([], {"username": "Sam", "email": None}) == [Held("username", "sam", LO, None, None, None)]


def test_principal_names_cover_every_protocol() -> None:
    assert principal_names({"initiated_by": {"type": "user", "username": "JDoe"}, "username": "jdoe"}) == [
        ("username", "jdoe")]
    assert principal_names({"dn": "uid=Ann,ou=Users,o=1,dc=jumpcloud,dc=com"}) == [("username", "ann")]
    assert principal_names({"initiated_by": {"type": "user", "email": "Ann@X.org"}}) == [("email", "ann@x.org")]
    assert principal_names({"username": "ann@x.org"}) == [("username", "ann@x.org"), ("email", "ann@x.org")]
    assert principal_names({"initiated_by": {"type": "systemuser", "id": "s1", "username": "root"}}) == [
        ("username", "root")]
    assert direct_user({"initiated_by": {"type": "systemuser", "id": "s1"}}) is None
    assert direct_user({"initiated_by": {"type": "user", "id": "u1"}}) == "u1"


def test_resolve_picks_who_held_the_name_then() -> None:
    holders = {("username", "jdoe"): [(0, 100, "leaver"), (200, None, "hire")]}
    names = [("username", "jdoe")]
    assert resolve(50, names, holders) == ("leaver", "username", "jdoe")
    assert resolve(100, names, holders) is None  # half-open: deleted at 100
    assert resolve(150, names, holders) is None
    assert resolve(250, names, holders) == ("hire", "username", "jdoe")
    both = [("username", "nobody"), ("email", "j@x.org")]
    assert resolve(5, both, {("email", "j@x.org"): [(0, None, "u")]}) == ("u", "email", "j@x.org")


def test_status_spans_and_blocking() -> None:
    raw = [(10, "a", "user_create", {}), (20, "b", "user_lockout", {}), (25, "c", "user_update",
           {"changes": [{"field": "suspended", "from": False, "to": True}]}), (30, "d", "user_unlocked", {}),
           (40, "e", "user_unsuspended", {}), (50, "f", "user_delete", {}), (60, "g", "user_unsuspended", {})]
    story = [(ts, eid, status_facts(t, r)) for ts, eid, t, r in raw]
    spans = fold_status(story)
    assert spans == [StatusSpan("active", 10, 20, None), StatusSpan("locked", 20, 25, "b"),
                     StatusSpan("suspended", 25, 40, "c"), StatusSpan("active", 40, 50, "e"),
                     StatusSpan("deleted", 50, None, "f")]
    assert fold_status(list(reversed(story))) == spans
    assert status_at(spans, 5) is None and blocked_by(status_at(spans, 22)) == "locked"
    assert blocked_by(status_at(spans, 45)) is None and blocked_by(status_at(spans, 10**13)) == "deleted"
