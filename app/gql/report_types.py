"""GraphQL for the console and auditors: who the caller is (`viewer`, for the console's organization switcher)
and the audit reports as of any instant (`auditReport`), from graph.reports, the same code as the CLI's
`insightgraph report`."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Optional

import strawberry
from strawberry.types import Info

import graph
from app.gql import result_types as tv
from app.gql.context import Context, Forbidden
from app.model.times import ms_to_dt, now_ms, optional_ms
from app.report_csv import COLUMNS, to_csv


@strawberry.enum
class AuditReportKind(Enum):
    USERS_GROUPS = "users-groups"
    USERS_SYSTEMS = "users-systems"
    USERS_APPLICATIONS = "users-applications"


@strawberry.type
class AuditReport:
    kind: AuditReportKind
    as_of: datetime
    rows: list[tv.AuditReportRow]
    csv: str = strawberry.field(description="the rows as CSV, exactly as `insightgraph report` writes them")
    columns: list[str] = strawberry.field(description="the CSV's header")


@strawberry.type(description="The API key making the request (never its secret).")
class Viewer:
    organization: str = strawberry.field(description="the organization this request is scoped to")
    organizations: list[str] = strawberry.field(description="every organization the key may read (x-org-id picks)")
    scope: str
    name: Optional[str]


@strawberry.type
class ConsoleQuery:
    @strawberry.field(description="Who is asking: the key's organizations and scope, for an organization switcher.")
    def viewer(self, info: Info[Context, None]) -> Viewer:
        principal = info.context.principal
        if principal is None:
            raise Forbidden("not authenticated")
        key = principal.key
        return Viewer(organization=principal.organization, organizations=sorted(key.organizations), scope=key.scope,
                      name=key.name)

    @strawberry.field(description="An audit report at that instant (now by default): users to groups, systems or "
                                  "applications, one row per user, target and path.")
    async def audit_report(self, info: Info[Context, None], kind: AuditReportKind,
                           as_of: Optional[datetime] = None) -> AuditReport:
        ctx = info.context
        at = optional_ms(as_of) if as_of is not None else now_ms()
        rows = await ctx.run(graph.audit_report, ctx.db, ctx.org, kind.value, at)
        return AuditReport(kind=kind, as_of=ms_to_dt(at), rows=tv.convert(rows), csv=to_csv(rows),
                           columns=list(COLUMNS))
