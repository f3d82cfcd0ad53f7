"""Wiring sync from settings: the client and config (shared by `insightgraph sync` and `serve --sync`), and the
follow loop inside the HTTP service (started and stopped with the app's lifespan)."""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from app.ingest.enrich import Enricher
from app.ingest import Pipeline
from app.settings import Settings
from app.sync.client import DirectoryInsightsClient, resolve_source
from app.sync.collector import Collector, SyncConfig
from app.model.times import parse_duration_ms, parse_since_ms
from graph.db import Database

log = logging.getLogger("insightgraph.sync")


class ConfigError(ValueError):
    """A sync option or INSIGHTGRAPH_SYNC_* variable that cannot be used; the message names it."""


def api_key(settings: Settings, key_file: Path | None = None) -> str:
    """--api-key-file, else INSIGHTGRAPH_SYNC_API_KEY_FILE, else INSIGHTGRAPH_SYNC_API_KEY."""
    path = key_file or settings.sync_api_key_file
    if path is not None:
        try:
            key = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API key file {path}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"the API key file {path} is empty")
        return key
    if settings.sync_api_key and settings.sync_api_key.strip():
        return settings.sync_api_key.strip()
    raise ConfigError("no API key for the source: set INSIGHTGRAPH_SYNC_API_KEY or pass --api-key-file")


def build(settings: Settings, *, source: str | None = None, orgs: list[str] | None = None,
          since: str | None = None, lag: str | None = None, interval: float | None = None,
          key_file: Path | None = None, rate: float | None = None, follow: bool = False,
          page_size: int = 10_000, stop: threading.Event | None = None) -> tuple[DirectoryInsightsClient, SyncConfig]:
    """Options override settings (INSIGHTGRAPH_SYNC_*)."""
    try:
        resolve_source(source or settings.sync_source)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if orgs is None:
        orgs = [o.strip() for o in (settings.sync_orgs or "").split(",") if o.strip()]
    try:
        since_ms = parse_since_ms(since or settings.sync_since)
    except ValueError as exc:
        raise ConfigError(f"--since / INSIGHTGRAPH_SYNC_SINCE: {exc}") from None
    try:
        lag_ms = parse_duration_ms(lag or settings.sync_lag)
    except ValueError as exc:
        raise ConfigError(f"--lag / INSIGHTGRAPH_SYNC_LAG: {exc}") from None
    every = settings.sync_interval if interval is None else interval
    per_second = settings.sync_rate if rate is None else rate
    if every <= 0 or per_second <= 0 or settings.sync_lease_seconds <= 0:
        raise ConfigError("--interval, --rate and INSIGHTGRAPH_SYNC_LEASE_SECONDS must be positive")
    client = DirectoryInsightsClient(source or settings.sync_source, api_key(settings, key_file), rate=per_second,
                                     stop=stop)
    config = SyncConfig(orgs=list(dict.fromkeys(orgs)), since_ms=since_ms, lag_ms=lag_ms, follow=follow,
                        interval=every, page_size=page_size, lease_ms=int(settings.sync_lease_seconds * 1000))
    return client, config


def pipelines(settings: Settings, db: Database) -> tuple[Callable[[str | None], Pipeline], Enricher]:
    """A pipeline per organization (events of another one are rejected), sharing one enricher."""
    enricher = Enricher(settings.geoip_db)
    return (lambda org: Pipeline(db, enricher, settings.batch_size, org)), enricher


class SyncService:
    """The follow loop in a thread of `serve`: it reconnects to Neo4j and retries the source on its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = threading.Event()
        self.client, self.config = build(settings, follow=True, stop=self.stop_event)  # fails fast on bad config
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._thread = threading.Thread(target=self._run, name="sync", daemon=True)
        self._thread.start()
        log.info("sync started", extra={"source": self.client.label, "organizations": self.config.orgs or None,
                                        "interval_seconds": self.config.interval})

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the batch in hand, then return (called at shutdown)."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()
        log.info("sync stopped")

    def _run(self) -> None:
        s = self.settings
        while not self.stop_event.is_set():
            db = Database(s.bolt_uri, s.auth, s.neo4j_database, s.neo4j_retry_seconds)
            enricher = None
            try:
                db.verify()
                make, enricher = pipelines(s, db)
                collector = Collector(db, self.client, self.config, make, self.stop_event)
                try:
                    collector.run()
                finally:
                    collector.close()
            except Exception as exc:
                log.error("sync loop failed, retrying in %.0f s: %s", self.config.interval,
                          " ".join(str(exc).split()))
                self.stop_event.wait(self.config.interval)
            finally:
                if enricher is not None:
                    enricher.close()
                db.close()


def attach(app: Any, settings: Settings) -> SyncService:
    """Run the sync follow loop for as long as the app's lifespan (started at startup, stopped at shutdown)."""
    from starlette.concurrency import run_in_threadpool

    service = SyncService(settings)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        service.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            await run_in_threadpool(service.stop)

    app.router.lifespan_context = lifespan
    return service
