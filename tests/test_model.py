"""The pure rules of app/model, without Neo4j: grant-path arithmetic, burst windows, account ranges, audit kinds, the
entity table and the time helpers both APIs share."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from app.model.audit import audit_kind, event_ref, parse_changes, status_change
from app.model.entities import (BY_LABEL, DISPLAY_ORDER, ENTITY_LABELS, LOOKUP_KEYS, display_name, entity, label_for,
                                normalise_ip, vendor_type)
from app.model.errors import InputError
from app.model.events import EventHeadline, normalise_service, parse_event
from app.model.fields import FIELDS, scan, search_key
from app.model.intervals import (HI, account_ranges, burst_ranges, gaps, path_kind, revocation_reasons, span)
from app.model.results import Association, Change, Ref, entity_ref, ref_sort_key, service_ref
from app.model.times import MAX_BUCKETS, UNIT_MS, bucket_origin, bucket_span, offset_ms, parse_utc_offset, rfc3339


# ---- intervals -----------------------------------------------------------------------------------------------

def test_a_path_holds_while_all_its_hops_hold() -> None:
    assert span([(10, None), (20, 50), (15, 40)]) == (20, 40)
    assert span([(10, None), (20, None)]) == (20, None)
    since, until = span([(10, 20), (30, None)])  # hops that never held together
    assert since >= until


@pytest.mark.parametrize("rels, kind", [
    (["MEMBER_OF"], "direct"),
    (["MEMBER_OF", "MEMBER_OF"], "nested"),
    (["HAS_ACCESS_TO"], "direct"),
    (["MEMBER_OF", "HAS_ACCESS_TO"], "group"),
    (["MEMBER_OF", "MEMBER_OF", "HAS_ACCESS_TO"], "nested_group"),
    (["MEMBER_OF", "HAS_ACCESS_TO", "MEMBER_OF"], "group+system_group"),
    (["HAS_ACCESS_TO", "MEMBER_OF"], "direct+system_group"),
])
def test_path_kinds(rels: list[str], kind: str) -> None:
    assert path_kind(rels) == kind


def test_gaps_are_the_stretches_without_any_grant_after_access_began() -> None:
    spans = [(10, 20, "r1"), (15, 30, "r2"), (40, None, None)]
    assert gaps(spans) == [(30, 40)]
    assert gaps([(10, 20, "r1")]) == [(20, HI)]
    assert gaps([]) == []


def test_account_ranges_are_the_suspended_or_deleted_stretches() -> None:
    timeline = [(10, "suspended", "e1"), (20, "active", "e2"), (30, "deleted", "e3")]
    assert account_ranges(timeline) == [(10, 20), (30, HI)]
    assert account_ranges([(5, "active", "e0")]) == []


def test_a_login_after_revocation_names_the_revoking_event_and_the_account_status() -> None:
    timeline = [(100, "suspended", "s1")]
    assert revocation_reasons(50, timeline, [(10, 40, "rev")]) == [("access_revoked", 40, "rev")]
    assert revocation_reasons(30, timeline, [(10, 40, "rev")]) == []  # still granted, not yet suspended
    assert revocation_reasons(150, timeline, None) == [("user_suspended", 100, "s1")]  # a service: status only


def test_bursts_need_threshold_failures_within_the_window_and_merge_when_they_overlap() -> None:
    times = [0, 10, 20, 30, 1000, 1005, 5000]
    assert burst_ranges(times, window_ms=25, threshold=3) == [(0, 3)]  # 0..20 and 10..30 overlap: one burst
    assert burst_ranges(times, window_ms=10, threshold=2) == [(4, 5)]
    assert burst_ranges(times, window_ms=100_000, threshold=8) == []
    assert burst_ranges([], window_ms=10, threshold=1) == []


# ---- audit ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("event_type, changes, kind", [
    ("user_create", (), "created"),
    ("user_delete_provision", (), "deleted"),
    ("user_update", (Change("suspended", False, True),), "suspended"),
    ("user_update", (Change("state", "SUSPENDED", "ACTIVATED"),), "unsuspended"),
    ("user_update", (Change("email", "a", "b"),), "updated"),
    ("user_lockout", (), "locked"),
    ("radius_auth", (), "login"),
    ("admin_login_attempt", (), "login"),
    ("user_password_change", (), "password"),
    ("user_totp_enrolled", (), "mfa"),
    ("notification_sent", (), "other"),
])
def test_audit_kinds(event_type: str, changes: tuple[Change, ...], kind: str) -> None:
    assert audit_kind(event_type, changes, None) == kind


def test_association_kinds_and_account_status() -> None:
    ref = Ref("User", "user", "u1", "jdoe")
    assert audit_kind("association_change", (), Association("add", ref, ref, "MEMBER_OF")) == "association_added"
    assert audit_kind("association_change", (), Association("remove", ref, ref, None)) == "association_removed"
    assert status_change("user_delete", ()) == "deleted"
    assert status_change("user_unsuspended", ()) == "active"
    assert status_change("user_update", (Change("suspended", True, False),)) == "active"
    assert status_change("user_update", (Change("email", "a", "b"),)) is None


def test_changes_and_event_summaries_come_from_the_raw_event() -> None:
    raw = {"changes": [{"field": "email", "from": "a", "to": "b"}, "junk"], "success": True, "client_ip": "1.2.3.4",
           "initiated_by": {"type": "Admin", "id": "a1", "email": "x@y"}, "geoip": {"country_code2": "de"}}
    assert parse_changes(raw) == (Change("email", "a", "b"),)
    ref = event_ref("e1", 5, "user_update", "directory", raw)
    assert (ref.success, ref.client_ip, ref.country, ref.initiator.type, ref.initiator.name) == \
        (True, "1.2.3.4", "DE", "admin", "x@y")
    # an address is spelt as the Event node stores it (and an events page answers it), whatever the raw case
    v6 = dict(raw, client_ip="2001:DB8::1")
    assert event_ref("e1", 5, "user_update", "directory", v6).client_ip == "2001:db8::1" == \
        EventHeadline.of(v6).client_ip


# ---- entities ------------------------------------------------------------------------------------------------

def test_the_entity_table_derives_every_other_table() -> None:
    assert ENTITY_LABELS[-1] == "Resource" and len(set(ENTITY_LABELS)) == len(ENTITY_LABELS)
    assert set(LOOKUP_KEYS) == set(ENTITY_LABELS) | {"IPAddress"}
    assert label_for("radiusserver") == label_for("radius_server") == "RadiusServer"
    assert label_for("system_group") == "Group" and label_for("something_new") == "Resource"
    for kind in BY_LABEL.values():  # every vendor type of a label names that label back
        for t in kind.vendor_types:
            if kind.label not in ("Group", "Resource", "IPAddress"):
                assert label_for(t) == kind.label and vendor_type(kind.label) == kind.vendor_types[0]
    assert vendor_type("Group", "system") == "system_group" and vendor_type("Group") == "group"
    assert vendor_type("Resource", typ="policy_group") == "policy_group"


def test_display_names_follow_one_order() -> None:
    assert DISPLAY_ORDER[0] == "name"
    assert display_name({"email": "e@x", "hostname": "h1"}) == "h1"
    assert display_name({"username": "u", "email": "e@x"}) == "u"
    assert display_name({}) is None


def test_entities_an_event_names() -> None:
    grp = entity({"id": "g1", "type": "System_Group", "name": "Servers"})
    assert (grp.label, grp.type, grp.props) == ("Group", "system_group", {"kind": "system", "name": "Servers"})
    user = entity({"id": "u1", "type": "user", "username": "jdoe", "email": "j@x"})
    assert user.props["name"] == "jdoe"
    other = entity({"id": "p1", "type": "policy_result"})
    assert (other.label, other.props) == ("Resource", {"type": "policy_result"})
    assert entity({"type": "user"}) is None and entity("x") is None
    assert entity_ref(grp) == Ref("Group", "system_group", "g1", "Servers")
    assert normalise_ip(" 2001:DB8::1 ") == "2001:db8::1"


def test_results_sort_by_label_then_name_ignoring_case() -> None:
    refs = [Ref("User", "user", "2", "bob"), Ref("Group", "user_group", "9", "z"), Ref("User", "user", "1", "Alice")]
    assert [r.id for r in sorted(refs, key=ref_sort_key)] == ["9", "1", "2"]
    assert service_ref("radius") == Ref("Service", "radius", "radius", "RADIUS")


# ---- events and times ------------------------------------------------------------------------------------------

def test_services_are_normalised_in_one_place() -> None:
    assert normalise_service(" Alert ") == "alerts"
    ev = parse_event({"id": "e", "organization": "o", "event_type": "x", "service": "ALERT",
                      "timestamp": "2020-01-01T00:00:00Z"})
    assert ev.service == "alerts"


def test_utc_offsets() -> None:
    assert parse_utc_offset(None) == parse_utc_offset("Z") == timezone.utc
    assert offset_ms(parse_utc_offset("-0500")) == -5 * UNIT_MS["h"]
    assert parse_utc_offset("+05:30") == timezone(timedelta(hours=5, minutes=30))
    with pytest.raises(InputError, match="timezone"):
        parse_utc_offset("+25:00")


def test_buckets_align_to_the_grid_and_are_capped() -> None:
    day = UNIT_MS["d"]
    origin = bucket_origin("d", -5 * UNIT_MS["h"])  # local midnight at -0500 is 05:00 UTC
    assert bucket_span((day + 1, 3 * day), day, origin) == (5 * UNIT_MS["h"], 2 * day + 5 * UNIT_MS["h"])
    assert bucket_origin("w", 0) % (7 * day) == 4 * day  # weeks start on Mondays
    with pytest.raises(ValueError, match=str(MAX_BUCKETS)):
        bucket_span((0, MAX_BUCKETS * 1000), 1000, 0)  # MAX_BUCKETS + 1 aligned buckets
    assert bucket_span((0, (MAX_BUCKETS - 1) * 1000 + 999), 1000, 0)[1] == (MAX_BUCKETS - 1) * 1000


def test_rfc3339_in_fixed_offsets() -> None:
    assert rfc3339(0, timezone.utc) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(0, parse_utc_offset("-0500")) == "1969-12-31T19:00:00.000-05:00"


# --- an event's headline: what its node stores, computed from the event itself ----------------------------------

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                     st.text(max_size=8), st.sampled_from(["10.0.0.1", "2001:DB8::1", "TRUE", "no", "x" * 3000]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["id", "type", "email",
                                                                                        "field", "x"]),
                                                                       inner, max_size=3)), max_leaves=6)
_PATHS = sorted({f.path.split(".")[0] for f in FIELDS})


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_PATHS), _VALUES, max_size=6))
def test_search_key_is_what_scan_stores_for_every_single_valued_field(raw):
    stored, _ = scan(raw)
    for f in FIELDS:
        if not f.multi and f.prop not in ("id", "organization", "event_type", "service", "ts"):
            assert search_key(raw, f) == stored.get(f.prop), f.path


def test_an_events_headline_is_its_node_values():
    raw = {"id": "e1", "organization": "o", "event_type": "User_Login_Attempt", "service": " SSO ",
           "timestamp": "2026-01-01T00:00:00Z", "success": False, "client_ip": "2001:DB8::1"}
    props = parse_event(raw).properties()
    assert EventHeadline.of(raw) == EventHeadline(props["organization"], props["event_type"], props["service"],
                                                props.get("f_success"), props.get("f_mfa"), props["f_client_ip"])
    assert EventHeadline.of(raw) == EventHeadline("o", "user_login_attempt", "sso", False, None, "2001:db8::1")
