"""Audit reports as CSV: one column layout shared by the CLI (`insightgraph report`) and GraphQL
(`auditReport { csv }`), so a file from either is the same file."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from app.model.times import format_ms
from app.model.results import ReportRow

COLUMNS = ("user_id", "username", "target_type", "target_id", "target_name", "path_kind", "via", "since",
           "granted_by_event", "granted_by", "granted_from_ip")


def via(row: ReportRow) -> str:
    """The groups between the user and the target, in order ("" for a direct grant or membership)."""
    return " > ".join(h.target.name or h.target.id for h in row.path.hops[:-1])


def csv_row(row: ReportRow) -> list[str]:
    g = row.granted_by
    return [row.user.id, row.user.name or "", row.target.type, row.target.id, row.target.name or "",
            row.path.kind, via(row), format_ms(row.path.since), g.id if g else "",
            (g.initiator.name or "") if g and g.initiator else "", (g.client_ip or "") if g else ""]


def to_csv(rows: Iterable[ReportRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(csv_row(r) for r in rows)
    return buf.getvalue()
