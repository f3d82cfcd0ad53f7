"""The `insightgraph` command: the managed Neo4j, ingest, demo data, serve, API keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from app.settings import Settings
from graph.db import DatabaseUnavailable
from graph.managed import Neo4jError


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


class _Errors(click.Group):
    """Operational failures become one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DatabaseUnavailable, Neo4jError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_Errors)
@click.option("--home", type=click.Path(path_type=Path), help="INSIGHTGRAPH_HOME")
@click.option("--neo4j-uri", help="INSIGHTGRAPH_NEO4J_URI (an external Neo4j; unset: the managed one)")
@click.option("--neo4j-port", type=int, help="INSIGHTGRAPH_NEO4J_PORT (managed Neo4j Bolt port)")
@click.option("--geoip-db", type=click.Path(path_type=Path), help="INSIGHTGRAPH_GEOIP_DB")
@click.pass_context
def main(ctx: click.Context, **overrides: Any) -> None:
    """insightgraph: identity audit events as a graph."""
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings(**{k: v for k, v in overrides.items() if v is not None})


# --- neo4j -----------------------------------------------------------------------------------------------------
@main.group()
def neo4j() -> None:
    """The managed local Neo4j (used when INSIGHTGRAPH_NEO4J_URI is not set)."""


@neo4j.command()
@click.pass_context
def start(ctx: click.Context) -> None:
    """Start it in the background; returns once Bolt answers."""
    from app.runtime import managed

    m = managed(_settings(ctx))
    if m.start():
        click.echo(f"Neo4j started at {m.uri} (pid {m.pid()}, data in {m.dir / 'data'}, log {m.log_file})")
    else:
        click.echo(f"Neo4j is already running at {m.uri} (pid {m.pid()})")


@neo4j.command()
@click.pass_context
def stop(ctx: click.Context) -> None:
    """Shut it down cleanly (checkpoint)."""
    from app.runtime import managed

    m = managed(_settings(ctx))
    click.echo("Neo4j stopped" if m.stop() else "Neo4j was not running")


@neo4j.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Exit 0 only while it answers."""
    from app.runtime import managed

    m = managed(_settings(ctx))
    if m.answers():
        click.echo(f"Neo4j is running at {m.uri} (pid {m.pid()})")
    else:
        click.echo(f"Neo4j is not answering at {m.uri}")
        sys.exit(1)


# --- ingest / demo ---------------------------------------------------------------------------------------------
def _pipeline(settings: Settings, db: Any, organization: str | None = None) -> Any:
    from app.enrich import Enricher
    from app.ingest import Pipeline

    return Pipeline(db, Enricher(settings.geoip_db), settings.batch_size, organization)


def _report(summary: Any, limit: int = 50) -> None:
    click.echo(
        f"accepted {summary.accepted}, already present {summary.duplicates}, rejected {len(summary.rejected)}"
    )
    for rej in summary.rejected[:limit]:
        click.echo(f"  rejected {rej.where}: {rej.reason}", err=True)
    if len(summary.rejected) > limit:
        click.echo(f"  ... and {len(summary.rejected) - limit} more rejections", err=True)


@main.command()
@click.argument("path", type=click.Path(allow_dash=True))
@click.option("--batch-size", type=int, help="events per transaction (INSIGHTGRAPH_BATCH_SIZE)")
@click.pass_context
def ingest(ctx: click.Context, path: str, batch_size: int | None) -> None:
    """Ingest events from PATH (JSON lines or a JSON array; - for stdin)."""
    from app.ingest import Summary
    from app.records import read_records
    from app.runtime import open_database

    settings = _settings(ctx)
    if batch_size:
        settings.batch_size = batch_size
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    db = open_database(settings)
    summary = Summary()
    try:
        with _progress() as bar:
            _pipeline(settings, db).run(read_records(stream), summary, progress=bar.update)
    except DatabaseUnavailable:
        raise
    except Exception as exc:  # the database went away mid-way: say what was committed
        _report(summary)
        raise DatabaseUnavailable(
            f"ingest stopped ({type(exc).__name__}: {exc}); batches before this point are committed and the rest "
            f"are not: re-run the same command, already-present events are skipped"
        ) from None
    finally:
        db.close()
    _report(summary)
    if summary.rejected:
        sys.exit(2)


def _progress() -> Any:
    from tqdm import tqdm

    return tqdm(unit=" events", disable=not sys.stderr.isatty(), mininterval=0.5)


@main.command()
@click.option("--users", default=50, show_default=True)
@click.option("--days", default=30, show_default=True)
@click.option("--events", default=5000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--organization", default="5f0000000000000000000001", show_default=True)
@click.pass_context
def demo(ctx: click.Context, users: int, days: int, events: int, seed: int, organization: str) -> None:
    """Generate a realistic history and ingest it through the normal pipeline."""
    from app.demo import generate
    from app.records import Record
    from app.runtime import open_database

    settings = _settings(ctx)
    db = open_database(settings)
    try:
        gen = generate(users=users, days=days, events=events, seed=seed, organization=organization)
        records = (Record(f"demo event {i}", ev) for i, ev in enumerate(gen, start=1))
        with _progress() as bar:
            bar.total = events
            summary = _pipeline(settings, db).run(records, progress=bar.update)
    finally:
        db.close()
    _report(summary)
    click.echo(f"organization {organization}")


if __name__ == "__main__":
    main()
