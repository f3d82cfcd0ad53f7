"""`insightgraph sync` (pull a Directory Insights API into this graph) and `insightgraph sync status`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from app.settings import Settings

KEY_ORG_LABEL = "(the key's organization)"


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_root().obj["settings"]


def human(seconds: float) -> str:
    """5400 -> '1h30m'; 90 -> '1m30s'."""
    seconds = int(max(0, seconds))
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if seconds >= size:
            rest = (seconds % size) // subsize
            return f"{seconds // size}{unit}{f'{rest}{sub}' if rest else ''}"
    return f"{seconds}s"


def _progress(org: str, total: int | None) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=" events", desc=org or None, disable=not sys.stderr.isatty(), mininterval=0.5,
                unit_scale=True)


@click.group("sync", invoke_without_command=True)
@click.option("--source", help="the Directory Insights API: a URL, or eu for the vendor's EU host "
                               "(INSIGHTGRAPH_SYNC_SOURCE, default https://api.jumpcloud.com)")
@click.option("--org", "orgs", multiple=True, metavar="ORG",
              help="organization to pull, sent as x-org-id (repeatable; INSIGHTGRAPH_SYNC_ORGS); "
                   "default: the key's own")
@click.option("--since", metavar="WHEN", help="first run only: an RFC 3339 instant or a duration back, e.g. 90d "
                                              "(INSIGHTGRAPH_SYNC_SINCE, default 90d); later runs resume")
@click.option("--lag", metavar="DURATION", help="re-read this far behind the checkpoint on each poll, for events "
                                                "published late (INSIGHTGRAPH_SYNC_LAG, default 10m)")
@click.option("--follow", is_flag=True, help="keep polling every --interval until SIGTERM/SIGINT")
@click.option("--interval", type=float, metavar="SECONDS", help="seconds between polls with --follow "
                                                                "(INSIGHTGRAPH_SYNC_INTERVAL, default 60)")
@click.option("--api-key-file", type=click.Path(path_type=Path, dir_okay=False),
              help="file holding the source's API key (else INSIGHTGRAPH_SYNC_API_KEY)")
@click.option("--rate", type=float, metavar="PER_SECOND", help="most requests per second "
                                                               "(INSIGHTGRAPH_SYNC_RATE, default 10)")
@click.option("--page-size", type=click.IntRange(1, 10_000), default=10_000, show_default=True,
              help="events asked for per page")
@click.option("--batch-size", type=int, help="events per transaction (INSIGHTGRAPH_BATCH_SIZE)")
@click.pass_context
def sync(ctx: click.Context, source: str | None, orgs: tuple[str, ...], since: str | None, lag: str | None,
         follow: bool, interval: float | None, api_key_file: Path | None, rate: float | None, page_size: int,
         batch_size: int | None) -> None:
    """Pull events from a Directory Insights API (the vendor's or another insightgraph) through the ingest
    pipeline, exactly once: resumable from a checkpoint in Neo4j, one collector per source and organization at a
    time. One-shot by default (exit 0 once caught up); --follow keeps polling."""
    if ctx.invoked_subcommand is not None:
        return
    from app.observability import configure_logging
    from app.bootstrap import open_database
    from app.sync.collector import Collector
    from app.sync.service import ConfigError, build, pipelines

    settings = _settings(ctx)
    if batch_size:
        settings.batch_size = batch_size
    stop = threading.Event()
    try:
        client, config = build(settings, source=source, orgs=list(orgs) or None, since=since, lag=lag,
                               interval=interval, key_file=api_key_file, rate=rate, follow=follow,
                               page_size=page_size, stop=stop)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    configure_logging(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request; our own logs say what matters
    _on_signals(stop)
    db = open_database(settings)
    make, enricher = pipelines(settings, db)
    collector = Collector(db, client, config, make, stop,
                          progress=_progress if sys.stderr.isatty() else None)  # a bar needs /events/count
    try:
        results = collector.run()
    finally:
        collector.close()
        client.close()
        enricher.close()
        db.close()
    code = _summary(results, client.label)
    if code == 0 and stop.is_set() and not follow and not all(r.caught_up for r in results):
        click.echo("interrupted before catching up: run again to resume from the checkpoint", err=True)
        code = 130
    sys.exit(code)


def _on_signals(stop: threading.Event) -> None:
    """SIGTERM/SIGINT: finish the batch in hand, then stop; a second SIGINT stops at once."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _summary(results: list[Any], source: str) -> int:
    from app.model.times import format_ms

    code = 0
    for r in results:
        s = r.summary
        name = r.organization or KEY_ORG_LABEL
        rate = f", {r.pulled / r.seconds:,.0f} events/s" if r.seconds > 0 and r.pulled else ""
        where = f"checkpoint {format_ms(r.checkpoint)}" if r.checkpoint is not None else "no checkpoint yet"
        state = "caught up" if r.caught_up else (r.skipped or "not caught up")
        click.echo(f"{source} {name}: pulled {r.pulled} events (accepted {s.accepted}, already present "
                   f"{s.duplicates}, rejected {len(s.rejected)}) in {r.seconds:.1f} s{rate}; {where}; {state}")
        for rej in s.rejected[:20]:
            click.echo(f"  rejected {rej.where}: {rej.reason}", err=True)
        if r.error:
            click.echo(f"error: {name}: {r.error}", err=True)
            code = 1
        elif s.rejected and code == 0:
            code = 2
    return code


@sync.command("status")
@click.pass_context
def status(ctx: click.Context) -> None:
    """Per source and organization: checkpoint, how far behind now, events pulled, last error, lease."""
    from app.model.times import format_ms
    from app.bootstrap import open_database
    from graph.sync_state import all_status, ensure_sync_schema

    db = open_database(_settings(ctx))
    try:
        ensure_sync_schema(db)
        rows = all_status(db)
    finally:
        db.close()
    if not rows:
        click.echo("no sync has run yet")
        return
    for r in rows:
        where = (f"checkpoint {format_ms(r.checkpoint)} ({human((r.now - r.checkpoint) / 1000)} behind now)"
                 if r.checkpoint is not None else "no checkpoint yet")
        line = f"{r.source} {r.organization or KEY_ORG_LABEL}: {where}; {r.events_pulled} events pulled"
        if r.last_success_at is not None:
            line += f"; last success {format_ms(r.last_success_at)}"
        line += f"; last error {format_ms(r.last_error_at)}: {r.last_error}" if r.last_error else "; no error"
        if r.lease_holder:
            line += f"; lease held by {r.lease_holder} until {format_ms(r.lease_until)}"
        click.echo(line)
