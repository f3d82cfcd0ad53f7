"""Configuration: environment variables (INSIGHTGRAPH_*), overridden by CLI flags. The README's table mirrors this."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHTGRAPH_", extra="ignore")

    home: Path = Field(Path.home() / ".insightgraph", description="where the managed Neo4j keeps jars, data, logs")
    neo4j_uri: str | None = Field(None, description="an external Neo4j (bolt://, neo4j://, neo4j+s://); unset: managed")
    neo4j_user: str = Field("neo4j", description="user for an external Neo4j")
    neo4j_password: str | None = Field(None, description="password for an external Neo4j")
    neo4j_database: str | None = Field(None, description="database name (default: the server's default)")
    neo4j_port: int = Field(7687, description="Bolt port of the managed local Neo4j (127.0.0.1)")
    neo4j_heap: str = Field("2g", description="JVM heap of the managed Neo4j")
    neo4j_pagecache: str = Field("2g", description="page cache of the managed Neo4j")
    geoip_db: Path | None = Field(None, description="GeoIP2/GeoLite2 City or Country .mmdb for enrichment")
    host: str = Field("127.0.0.1", description="serve: bind address")
    port: int = Field(8000, description="serve: HTTP port")
    batch_size: int = Field(1000, description="events per ingest transaction")
    max_body_bytes: int = Field(64 * 1024 * 1024, description="largest HTTP ingest body accepted (413 past it)")
    log_level: str = Field("info", description="log level")
    retention: str | None = Field(None, description="retention: raw events older than this (e.g. 90d, 12w) are "
                                   "deleted by `insightgraph retention`; unset: keep forever")
    query_timeout_seconds: float = Field(10.0, description="serve: the time budget of one database read; Neo4j "
                                         "stops a read running longer and the request gets an error saying so")
    neo4j_retry_seconds: float = Field(30.0, description="how long a transaction is retried on transient "
                                       "errors or while Neo4j is unreachable before the command fails")
    serve_retry_seconds: float = Field(2.0, description="serve: the same for a request's transactions, short so a "
                                       "request caught by an outage answers 503 (clients retry) instead of hanging")
    warm_writes: bool = Field(True, description="serve: rehearse an ingest in a rolled-back transaction once "
                              "connected, so the first real ingest does not wait for Neo4j to plan its "
                              "statements (10-26 s on a fresh Neo4j)")
    sync_source: str = Field("https://api.jumpcloud.com", description="sync: the Directory Insights API to pull "
                             "from (a URL, or `eu` for the vendor's EU host)")
    sync_api_key: str | None = Field(None, description="sync: the API key for the source (never logged)")
    sync_api_key_file: Path | None = Field(None, description="sync: a file holding the API key")
    sync_orgs: str | None = Field(None, description="sync: organizations to pull, comma-separated (sent as x-org-id)")
    sync_since: str = Field("90d", description="sync: where the first run starts (RFC 3339 or a duration back)")
    sync_lag: str = Field("10m", description="sync: how far behind the checkpoint each poll re-reads")
    sync_interval: float = Field(60.0, description="sync --follow / serve --sync: seconds between polls")
    sync_rate: float = Field(10.0, description="sync: most requests per second sent to the source")
    sync_lease_seconds: float = Field(60.0, description="sync: lease lifetime; a dead holder's lease is taken over "
                                      "after this")

    @property
    def managed(self) -> bool:
        return not self.neo4j_uri

    @property
    def bolt_uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.neo4j_port}"

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.managed or self.neo4j_password is None:
            return None
        return (self.neo4j_user, self.neo4j_password)
