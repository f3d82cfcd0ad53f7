"""Audit reports as of any instant (issue 12): the CLI's CSV and GraphQL's auditReport come from the same graph
code and say the same thing; an instant before a grant or after its revocation shows it absent."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tests.conftest import BUILD01, ENGINEERING, GITHUB, SLUCERO, ingest, make_key, new_org, sample_events
from tests.test_cli import cli

JOINED = "2020-06-10T00:00:00Z"  # slucero in Engineering, which grants GitHub and build-01
BEFORE = "2020-06-05T16:00:30Z"  # before she joined
REVOKED = "2020-06-21T00:00:00Z"  # after REVOKE removed her from Engineering


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_users_groups_over_time(db: Any, org: str) -> None:
    ingest(db, sample_events(org))
    during = cli("report", "users-groups", "--org", org, "--as-of", JOINED)
    assert during.exit_code == 0, during.output
    found = rows(during.output)
    assert [(r["user_id"], r["username"], r["target_id"], r["target_name"], r["path_kind"]) for r in found] == [
        (SLUCERO, "slucero", ENGINEERING, "Engineering", "direct")]
    assert found[0]["granted_by"] == "admin@example.org" and found[0]["granted_from_ip"]
    assert found[0]["since"] == "2020-06-05T16:01:12.004Z"
    for when in (BEFORE, REVOKED):
        empty = cli("report", "users-groups", "--org", org, "--as-of", when)
        assert empty.exit_code == 0 and rows(empty.output) == [], empty.output


def test_users_systems_and_applications_name_the_path(db: Any, org: str, tmp_path: Path) -> None:
    ingest(db, sample_events(org))
    out = tmp_path / "systems.csv"
    done = cli("report", "users-systems", "--org", org, "--as-of", JOINED, "--output", str(out))
    assert done.exit_code == 0, done.output
    systems = rows(out.read_text())
    assert [(r["username"], r["target_id"], r["target_type"], r["path_kind"], r["via"]) for r in systems] == [
        ("slucero", BUILD01, "system", "group", "Engineering")]
    apps = rows(cli("report", "users-applications", "--org", org, "--as-of", JOINED).output)
    assert [(r["target_id"], r["target_name"]) for r in apps] == [(GITHUB, "GitHub")]
    assert rows(cli("report", "users-applications", "--org", org, "--as-of", REVOKED).output) == []


def test_report_of_another_organization_is_empty(db: Any, org: str) -> None:
    ingest(db, sample_events(org))
    other = cli("report", "users-groups", "--org", new_org(), "--as-of", JOINED)
    assert other.exit_code == 0 and rows(other.output) == []


def test_bad_instant_and_kind_are_one_clear_error(db: Any, org: str) -> None:
    bad = cli("report", "users-groups", "--org", org, "--as-of", "last tuesday")
    assert bad.exit_code == 2 and "--as-of" in bad.output and "RFC 3339" in bad.output
    unknown = cli("report", "users-printers", "--org", org)
    assert unknown.exit_code == 2 and "users-printers" in unknown.output


def test_graphql_report_matches_the_cli(db: Any, org: str, client: Any) -> None:
    ingest(db, sample_events(org))
    key = make_key(db, org)
    q = """query($at: DateTime) { auditReport(kind: USERS_SYSTEMS, asOf: $at) {
             asOf csv columns rows { user { id name } target { id type name } path { kind }
                                     grantedBy { id initiator { email } clientIp } } } }"""
    res = client.post("/graphql", json={"query": q, "variables": {"at": JOINED}}, headers={"x-api-key": key}).json()
    report = res["data"]["auditReport"]
    assert report["csv"] == cli("report", "users-systems", "--org", org, "--as-of", JOINED).output
    assert report["columns"][0] == "user_id"
    [row] = report["rows"]
    assert row["user"] == {"id": SLUCERO, "name": "slucero"} and row["target"]["id"] == BUILD01
    assert row["grantedBy"]["initiator"]["email"] == "admin@example.org"


def test_viewer_lists_the_keys_organizations(db: Any, client: Any) -> None:
    a, b = new_org(), new_org()
    key = make_key(db, a, b)
    res = client.post("/graphql", json={"query": "{ viewer { organization organizations scope } }"},
                      headers={"x-api-key": key, "x-org-id": b}).json()
    assert res["data"]["viewer"] == {"organization": b, "organizations": sorted([a, b]), "scope": "read"}
