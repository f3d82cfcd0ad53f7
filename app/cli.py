"""The `insightgraph` command: the managed Neo4j, ingest, demo data, serve, API keys."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from app import bootstrap
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
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)  # one line, also for multi-line causes
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
    logging.getLogger("neo4j").setLevel(logging.ERROR)  # its retry warnings are noise at a terminal; errors say it
    try:
        ctx.obj["settings"] = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:  # an INSIGHTGRAPH_* variable that does not parse: say which, no traceback
        raise click.ClickException("; ".join(
            f"INSIGHTGRAPH_{'_'.join(map(str, e['loc'])).upper()}={e.get('input')!r}: {e['msg']}" for e in exc.errors()
        )) from None


# --- neo4j -----------------------------------------------------------------------------------------------------
@main.group()
def neo4j() -> None:
    """The managed local Neo4j (used when INSIGHTGRAPH_NEO4J_URI is not set)."""


@neo4j.command()
@click.pass_context
def start(ctx: click.Context) -> None:
    """Start it in the background; returns once Bolt answers."""
    m = bootstrap.managed(_settings(ctx))
    if m.start():
        click.echo(f"Neo4j started at {m.uri} (pid {m.pid()}, data in {m.dir / 'data'}, log {m.log_file})")
    else:
        click.echo(f"Neo4j is already running at {m.uri} (pid {m.pid()})")


@neo4j.command()
@click.pass_context
def stop(ctx: click.Context) -> None:
    """Shut it down cleanly (checkpoint)."""
    m = bootstrap.managed(_settings(ctx))
    click.echo("Neo4j stopped" if m.stop() else "Neo4j was not running")


@neo4j.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Exit 0 only while it answers."""
    m = bootstrap.managed(_settings(ctx))
    if m.answers():
        click.echo(f"Neo4j is running at {m.uri} (pid {m.pid()})")
    else:
        click.echo(f"Neo4j is not answering at {m.uri}")
        sys.exit(1)


# --- ingest / demo ---------------------------------------------------------------------------------------------
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
    from app.ingest.records import read_records

    settings = _settings(ctx)
    if batch_size:
        settings.batch_size = batch_size
    try:
        stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    summary = Summary()
    with bootstrap.open_database(settings) as db:
        try:
            with _progress() as bar:
                bootstrap.make_pipeline(settings, db).run(read_records(stream), summary, progress=bar.update)
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # the database went away mid-way: say what was committed
            _report(summary)
            raise DatabaseUnavailable(
                f"ingest stopped ({type(exc).__name__}: {exc}); batches before this point are committed and the rest "
                f"are not: re-run the same command, already-present events are skipped"
            ) from None
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

    settings = _settings(ctx)
    with bootstrap.open_database(settings) as db:
        summary = _ingest_demo(settings, db, users=users, days=days, events=events, seed=seed,
                               organization=organization)
    _report(summary)
    click.echo(f"organization {organization}")


DEMO_ORG = "5f0000000000000000000001"


def _ingest_demo(settings: Settings, db: Any, users: int = 50, days: int = 30, events: int = 5000, seed: int = 1,
                 organization: str = DEMO_ORG) -> Any:
    """The demo history through the normal pipeline (shared by `demo` and `serve --demo`)."""
    from app.ingest.demo import generate
    from app.ingest.records import Record

    gen = generate(users=users, days=days, events=events, seed=seed, organization=organization)
    records = (Record(f"demo event {i}", ev) for i, ev in enumerate(gen, start=1))
    with _progress() as bar:
        bar.total = events
        return bootstrap.make_pipeline(settings, db).run(records, progress=bar.update)


# --- retention -------------------------------------------------------------------------------------------------
@main.command()
@click.option("--keep", metavar="WINDOW", help="keep this much history, e.g. 90d, 12w, 24h, 1y "
                                               "(default: INSIGHTGRAPH_RETENTION; unset: keep forever)")
@click.option("--dry-run/--yes", "dry_run", default=True, show_default=True,
              help="--dry-run (the default) only reports; --yes deletes")
@click.option("--organization", "orgs", multiple=True, metavar="ORG", help="only this organization (repeatable)")
@click.option("--batch-size", default=5000, show_default=True, help="events deleted per transaction")
@click.pass_context
def retention(ctx: click.Context, keep: str | None, dry_run: bool, orgs: tuple[str, ...], batch_size: int) -> None:
    """Delete raw events older than the retention window, keeping the access history.

    Deleted: events (by their timestamp) older than the window, with their links. Kept, so that who had access
    to what, and when, stays answerable for any date: users, groups, systems and the other entity nodes, IP
    nodes, the temporal access edges (MEMBER_OF, HAS_ACCESS_TO, ASSOCIATED_WITH) and every association_change
    event whatever its age. The access intervals of a connection are recomputed from all of its association
    events whenever a new one arrives (late or out of order), so those events are kept; they are a small share.
    So are the user lifecycle and status events (create, update, delete, suspend, lock, ...): a user's names over
    time and account status are folded from them.

    Without --yes nothing is deleted: it prints what would go, per organization. Deletion runs in batches of one
    transaction each, so it may be interrupted and re-run. An old event delivered again after its deletion is
    stored again and goes at the next run.
    """
    from app.model.times import format_ms
    from graph import retention as ret

    settings = _settings(ctx)
    window = keep or settings.retention
    if not window:
        click.echo("retention is not configured (no --keep, INSIGHTGRAPH_RETENTION unset): events are kept forever")
        return
    try:
        cutoff = ret.cutoff_for(window)
    except ret.RetentionError as exc:
        raise click.BadParameter(str(exc), param_hint="--keep / INSIGHTGRAPH_RETENTION") from None
    with bootstrap.open_database(settings) as db:
        click.echo(f"keeping {window}: events before {format_ms(cutoff)} expire")
        selected = list(orgs) or None
        results = ret.plan(db, cutoff, selected) if dry_run else ret.apply(db, cutoff, selected, batch_size)
    verb = "would delete" if dry_run else "deleted"
    for res in results:
        click.echo(f"{res.organization}: {verb} {res.expired if dry_run else res.deleted} events; keeping "
                   f"{res.kept} older association_change and user lifecycle events (access and identity history "
                   "are computed from them)")
    if not results:
        click.echo("nothing is older than the window")
    elif dry_run:
        click.echo("dry run: nothing was deleted; run again with --yes to delete")
    else:
        click.echo(f"deleted {sum(r.deleted for r in results)} events in {len(results)} organization(s)")


# --- serve -----------------------------------------------------------------------------------------------------
@main.command()
@click.option("--host", help="bind address (INSIGHTGRAPH_HOST, default 127.0.0.1)")
@click.option("--port", type=int, help="HTTP port (INSIGHTGRAPH_PORT, default 8000)")
@click.option("--demo", is_flag=True, help=f"ingest the demo history (organization {DEMO_ORG}) first, unless present")
@click.option("--allow-unready", is_flag=True,
              help="start even when Neo4j is unreachable: /readyz and API requests answer 503 until it is back")
@click.option("--shutdown-timeout", default=30, show_default=True,
              help="seconds in-flight requests get to finish after SIGTERM/SIGINT")
@click.option("--sync", "sync_", is_flag=True,
              help="also run the sync follow loop (configured by INSIGHTGRAPH_SYNC_*, see `insightgraph sync`)")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, demo: bool, allow_unready: bool,
          shutdown_timeout: int, sync_: bool) -> None:
    """Run the HTTP service: GraphQL at /graphql, the REST API, /healthz, /readyz, /metrics.

    Without INSIGHTGRAPH_NEO4J_URI the managed local Neo4j is started first (and left running). Logs are JSON
    lines on stderr, one per request.
    """
    import uvicorn

    from app.observability import configure_logging
    from app.server import create_app
    from graph.search import has_events

    settings = _settings(ctx)
    if host:
        settings.host = host
    if port:
        settings.port = port
    try:
        with bootstrap.open_database(settings) as db:
            if demo:
                if not has_events(db, DEMO_ORG):
                    _report(_ingest_demo(settings, db))
                click.echo(f"demo organization {DEMO_ORG}; create a key for it with: insightgraph keys create "
                           f"--org {DEMO_ORG}", err=True)
    except DatabaseUnavailable as exc:
        if not allow_unready:
            raise
        click.echo(f"warning: {exc}; serving anyway (--allow-unready): /readyz answers 503 until Neo4j is back",
                   err=True)
    configure_logging(settings.log_level)
    logging.getLogger("neo4j").setLevel(logging.WARNING)  # in the service log, the driver's retries are worth seeing
    from app.timeouts import uvicorn_options

    app = create_app(settings)
    if sync_:
        from app.sync.service import ConfigError, attach

        try:
            attach(app, settings)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
    # What is loaded by now (modules, the GraphQL schema, the driver) lives as long as the process: out of the cyclic
    # collector's sight, whose full passes otherwise walk it all again and again (a wide answer allocates ~50,000
    # objects: a collection every few requests): the wide access's mean 29.6 -> 24.5 ms in-process (bench/README.md).
    gc.freeze()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=shutdown_timeout, lifespan="on", server_header=False, **uvicorn_options())


# --- keys ------------------------------------------------------------------------------------------------------
@main.group()
def keys() -> None:
    """API keys: stored as a hash in Neo4j; a secret is shown once, when it is created."""


@keys.command("create")
@click.option("--org", "orgs", multiple=True, required=True, metavar="ORG", help="organization (repeatable)")
@click.option("--scope", type=click.Choice(["read", "ingest", "admin"]), default="read", show_default=True)
@click.option("--name", default="", help="a label to recognise the key by")
@click.pass_context
def keys_create(ctx: click.Context, orgs: tuple[str, ...], scope: str, name: str) -> None:
    """Create a key; the secret is the last line of the output (and is not stored anywhere)."""
    from graph.keys import create_key

    with bootstrap.open_database(_settings(ctx)) as db:
        try:
            key, secret = create_key(db, list(orgs), scope, name)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(f"created key {key.id} (scope {key.scope}) for {', '.join(key.organizations)}"
               + (f" named {key.name!r}" if key.name else ""))
    click.echo("the secret follows; it is shown only now: send it as the x-api-key header")
    click.echo(secret)


@keys.command("list")
@click.pass_context
def keys_list(ctx: click.Context) -> None:
    """Every key: id, scope, organizations, name, created, revoked (never the secret)."""
    from app.model.times import format_ms
    from graph.keys import list_keys

    with bootstrap.open_database(_settings(ctx)) as db:
        found = list_keys(db)
    for k in found:
        state = f"revoked {format_ms(k.revoked)}" if k.revoked is not None else "active"
        click.echo(f"{k.id}  {k.scope:<6}  {','.join(k.organizations)}  {k.name or '-'}  "
                   f"created {format_ms(k.created)}  {state}")
    if not found:
        click.echo("no keys")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke a key by its id: requests with it get 401 from then on."""
    from graph.keys import revoke_key

    with bootstrap.open_database(_settings(ctx)) as db:
        done = revoke_key(db, key_id)
    if not done:
        click.echo(f"error: no active key with id {key_id!r}", err=True)
        sys.exit(1)
    click.echo(f"revoked key {key_id}")

from app.sync.commands import sync as _sync  # noqa: E402  (insightgraph sync, sync status)

main.add_command(_sync)

from app.report_cli import report  # noqa: E402  (the audit reports, in a module of their own)

main.add_command(report)

if __name__ == "__main__":
    main()
