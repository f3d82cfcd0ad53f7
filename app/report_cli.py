"""`insightgraph report users-groups|users-systems|users-applications`: an audit report as of any instant, as
CSV on stdout or into a file. The same graph code and CSV layout as GraphQL's `auditReport`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app import bootstrap
from app.model.times import parse_timestamp
from app.report_csv import to_csv
from graph.reports import KINDS, audit_report


@click.command("report")
@click.argument("kind", type=click.Choice(KINDS))
@click.option("--org", "organization", required=True, metavar="ORG", help="the organization to report on")
@click.option("--as-of", "as_of", metavar="WHEN",
              help="the instant, ISO 8601 (e.g. 2020-06-10T00:00:00Z); default: now")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write the CSV here (default: stdout)")
@click.pass_context
def report(ctx: click.Context, kind: str, organization: str, as_of: str | None, output: Path | None) -> None:
    """Who held which groups, systems or applications at an instant (CSV, one row per user, target and path)."""
    as_of_ms = None
    if as_of is not None:
        try:
            as_of_ms = parse_timestamp(as_of, "--as-of")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--as-of") from None
    with bootstrap.open_database(ctx.obj["settings"]) as db:
        rows = audit_report(db, organization, kind, as_of_ms)
    text = to_csv(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(rows)} rows to {output}", err=True)
