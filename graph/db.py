"""The driver, and the one place that turns connection trouble into an error a person can act on."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable, SessionExpired

T = TypeVar("T")
UNAVAILABLE = (ServiceUnavailable, SessionExpired, OSError)
# The database refusing what a batch holds (a value it cannot store), as opposed to being away.
RECORD_FAULTS = (neo4j.exceptions.ClientError, TypeError, ValueError, OverflowError)


class DatabaseUnavailable(RuntimeError):
    """Neo4j cannot be reached (or refused us); the message names the URI and what to do."""


class Database:
    def __init__(self, uri: str, auth: tuple[str, str] | None = None, database: str | None = None,
                 retry_seconds: float = 120.0) -> None:
        """`retry_seconds`: how long a transaction is retried (transient errors, Neo4j away) before it fails;
        a service wants this short so a request answers 503 instead of hanging."""
        self.uri = uri
        self.database = database
        self.driver = GraphDatabase.driver(
            uri, auth=auth, max_transaction_retry_time=retry_seconds, connection_acquisition_timeout=30.0,
            max_connection_pool_size=50, notifications_min_severity="OFF",
        )

    def verify(self) -> None:
        try:
            self.driver.verify_connectivity()
        except AuthError as exc:
            raise DatabaseUnavailable(f"Neo4j at {self.uri} refused the credentials: set INSIGHTGRAPH_NEO4J_USER "
                                      f"and INSIGHTGRAPH_NEO4J_PASSWORD ({exc.message})") from None
        except (*UNAVAILABLE, ValueError) as exc:
            raise DatabaseUnavailable(
                f"cannot reach Neo4j at {self.uri} ({type(exc).__name__}): start it (`insightgraph neo4j start` for "
                f"the managed one) or point INSIGHTGRAPH_NEO4J_URI at a running Neo4j"
            ) from None

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read query (auto-retried on transient errors), returning records as dicts."""
        records, _, _ = self.driver.execute_query(
            query, params, database_=self.database, routing_=neo4j.RoutingControl.READ
        )
        return [dict(r) for r in records]  # values are plain: queries return maps, never graph objects

    def write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        records, _, _ = self.driver.execute_query(
            query, params, database_=self.database, routing_=neo4j.RoutingControl.WRITE
        )
        return [dict(r) for r in records]  # values are plain: queries return maps, never graph objects

    def write_tx(self, fn: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run `fn` in one write transaction, retried as a whole on transient errors (deadlocks, leader switch)."""
        with self.driver.session(database=self.database) as session:
            return session.execute_write(fn)

    def read_tx(self, fn: Callable[[neo4j.ManagedTransaction], T]) -> T:
        with self.driver.session(database=self.database) as session:
            return session.execute_read(fn)

    def close(self) -> None:
        self.driver.close()
