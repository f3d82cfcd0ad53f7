"""The driver, and the one place that turns connection trouble into an error a person can act on."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable, SessionExpired

from app.model.errors import InputError

T = TypeVar("T")
# The database refusing what a batch holds (a value it cannot store), as opposed to being away.
RECORD_FAULTS = (neo4j.exceptions.ClientError, TypeError, ValueError, OverflowError)


class DatabaseUnavailable(RuntimeError):
    """Neo4j cannot be reached (or refused us); the message names the URI and what to do."""


class QueryTimeout(InputError):
    """A read ran past the time budget; Neo4j stopped it (the transaction timeout), so the work is cancelled. The
    caller's to narrow: answered like any bad input (400, a visible GraphQL error)."""


_TIMED_OUT = "Neo.ClientError.Transaction.TransactionTimedOut"


# What tells a caller that Neo4j is away (answered 503, retried by clients); the one tuple every layer checks.
UNAVAILABLE: tuple[type[BaseException], ...] = (ServiceUnavailable, SessionExpired, DatabaseUnavailable)
_CANNOT_CONNECT = (ServiceUnavailable, SessionExpired, OSError, ValueError)


class Database:
    def __init__(self, uri: str, auth: tuple[str, str] | None = None, database: str | None = None,
                 retry_seconds: float = 120.0, query_timeout: float | None = None) -> None:
        """`retry_seconds`: how long a transaction is retried (transient errors, Neo4j away) before it fails;
        a service wants this short so a request answers 503 instead of hanging. `query_timeout`: the budget of
        one read; Neo4j terminates a read running longer (None: no limit, for the CLI and maintenance)."""
        self.uri = uri
        self.database = database
        self.query_timeout = query_timeout
        try:
            self.driver = GraphDatabase.driver(
                uri, auth=auth, max_transaction_retry_time=retry_seconds, connection_acquisition_timeout=30.0,
                max_connection_pool_size=50, notifications_min_severity="OFF",
            )
        except ConfigurationError as exc:  # e.g. a malformed INSIGHTGRAPH_NEO4J_URI
            raise DatabaseUnavailable(f"cannot use Neo4j at {uri}: {' '.join(str(exc).split())}") from None

    def verify(self) -> None:
        try:
            self.driver.verify_connectivity()
        except AuthError as exc:
            raise DatabaseUnavailable(f"Neo4j at {self.uri} refused the credentials: set INSIGHTGRAPH_NEO4J_USER "
                                      f"and INSIGHTGRAPH_NEO4J_PASSWORD ({exc.message})") from None
        except _CANNOT_CONNECT as exc:
            raise DatabaseUnavailable(
                f"cannot reach Neo4j at {self.uri} ({type(exc).__name__}): start it (`insightgraph neo4j start` for "
                f"the managed one) or point INSIGHTGRAPH_NEO4J_URI at a running Neo4j"
            ) from None

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read query (auto-retried on transient errors), returning records as dicts."""
        try:
            records, _, _ = self.driver.execute_query(
                neo4j.Query(query, timeout=self.query_timeout) if self.query_timeout else query, params,
                database_=self.database, routing_=neo4j.RoutingControl.READ
            )
        except neo4j.exceptions.ClientError as exc:
            raise _timeout(exc) from exc
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
        work = neo4j.unit_of_work(timeout=self.query_timeout)(fn) if self.query_timeout else fn
        with self.driver.session(database=self.database) as session:
            try:
                return session.execute_read(work)
            except neo4j.exceptions.ClientError as exc:
                raise _timeout(exc) from exc

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _timeout(exc: neo4j.exceptions.ClientError) -> Exception:
    """The driver's timeout error as a QueryTimeout naming the budget; any other client error unchanged."""
    if (exc.code or "").startswith(_TIMED_OUT):
        return QueryTimeout("the query took longer than its time budget and was stopped; narrow the filter or the "
                            "time range, or ask for less")
    return exc
