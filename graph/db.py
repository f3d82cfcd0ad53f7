"""The driver, and the one place that turns connection trouble into an error a person can act on."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from typing import Any, Callable, Iterator, TypeVar

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
_FIRST_RETRY_DELAY = 0.2  # seconds, doubled after each retry of a read (the driver's own schedule starts at 1 s)
# A read stopped by its time budget this soon after Neo4j was reached (first, or again after losing it) is run once
# more. A Neo4j that has just started plans every statement afresh on a cold JVM, and with the clients of an
# outage all coming back at once that alone ran reads past the budget (bench/README.md, session 9); the plan they
# paid for is cached by then, so the second run is quick. A read too costly for its budget still fails, later.
COLD_SECONDS = 60.0


# What tells a caller that Neo4j is away (answered 503, retried by clients); the one tuple every layer checks.
# Neo4j's own DatabaseUnavailable (a transient error: the database is stopping or starting) counts too: a read that
# meets it past its retry budget was a 500 in the load test's outage (bench/README.md).
UNAVAILABLE: tuple[type[BaseException], ...] = (ServiceUnavailable, SessionExpired, DatabaseUnavailable,
                                                neo4j.exceptions.DatabaseUnavailable)
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
        self.retry_seconds = retry_seconds
        self._lost = True  # no statement has succeeded since connecting or since Neo4j was last unreachable
        self._cold_until = 0.0  # reads stopped by their budget before this (monotonic) time are run once more
        self._busy = 0  # calls using the driver right now, in any thread (`close` waits for them)
        self._idle = threading.Condition()
        try:
            self.driver = GraphDatabase.driver(
                uri, auth=auth, max_transaction_retry_time=retry_seconds, connection_acquisition_timeout=30.0,
                max_connection_pool_size=50, notifications_min_severity="OFF",
            )
        except ConfigurationError as exc:  # e.g. a malformed INSIGHTGRAPH_NEO4J_URI
            raise DatabaseUnavailable(f"cannot use Neo4j at {uri}: {' '.join(str(exc).split())}") from None

    def _reached(self) -> None:
        if self._lost:
            self._lost, self._cold_until = False, time.monotonic() + COLD_SECONDS

    @contextlib.contextmanager
    def _using(self) -> Iterator[None]:
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                if not self._busy:
                    self._idle.notify_all()

    def verify(self) -> None:
        try:
            with self._using():
                self.driver.verify_connectivity()
            self._reached()
        except AuthError as exc:
            raise DatabaseUnavailable(f"Neo4j at {self.uri} refused the credentials: set INSIGHTGRAPH_NEO4J_USER "
                                      f"and INSIGHTGRAPH_NEO4J_PASSWORD ({exc.message})") from None
        except _CANNOT_CONNECT as exc:
            self._lost = True
            raise DatabaseUnavailable(
                f"cannot reach Neo4j at {self.uri} ({type(exc).__name__}): start it (`insightgraph neo4j start` for "
                f"the managed one) or point INSIGHTGRAPH_NEO4J_URI at a running Neo4j"
            ) from None

    def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read query, returning records as dicts.

        An auto-commit transaction: one round trip (RUN and PULL together) where a managed one (`execute_query`)
        needs a second for BEGIN/COMMIT — a quarter to a third of a small read's time (bench/README.md). A read
        has nothing to roll back, so it is simply run again on a retryable error (Neo4j away, a leader switch, a
        transient error) until `retry_seconds` have passed, as the driver would; it shares `execute_query`'s
        bookmarks, so it still sees what this process wrote before (causal consistency on a cluster)."""
        q = neo4j.Query(query, timeout=self.query_timeout) if self.query_timeout else query
        deadline, delay, rerun = time.monotonic() + self.retry_seconds, _FIRST_RETRY_DELAY, False
        while True:
            try:
                with self._using(), self.driver.session(
                        database=self.database, default_access_mode=neo4j.READ_ACCESS,
                        bookmark_manager=self.driver.execute_query_bookmark_manager) as session:
                    records = list(session.run(q, params))
                self._reached()
                return [dict(r) for r in records]  # values are plain: queries return maps, never graph objects
            except neo4j.exceptions.ClientError as exc:
                error = _timeout(exc)
                if isinstance(error, QueryTimeout) and not rerun and time.monotonic() < self._cold_until:
                    rerun = True  # Neo4j was cold (COLD_SECONDS)
                    continue
                raise error from exc
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                if isinstance(exc, UNAVAILABLE):
                    self._lost = True
                if not exc.is_retryable() or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay * random.uniform(0.8, 1.2))
            delay *= 2

    def write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        with self._using():
            records, _, _ = self.driver.execute_query(
                query, params, database_=self.database, routing_=neo4j.RoutingControl.WRITE
            )
        return [dict(r) for r in records]  # values are plain: queries return maps, never graph objects

    def write_tx(self, fn: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run `fn` in one write transaction, retried as a whole on transient errors (deadlocks, leader switch)."""
        with self._using(), self.driver.session(database=self.database) as session:
            return session.execute_write(fn)

    def rolled_back_tx(self, fn: Callable[[neo4j.Transaction], T]) -> T:
        """Run `fn` in a write transaction that is always rolled back: nothing it writes is ever committed or seen
        by another transaction (a rehearsal, graph/write.py)."""
        with self._using(), self.driver.session(database=self.database) as session:
            tx = session.begin_transaction()
            try:
                return fn(tx)
            finally:
                tx.rollback()

    def read_tx(self, fn: Callable[[neo4j.ManagedTransaction], T]) -> T:
        work = neo4j.unit_of_work(timeout=self.query_timeout)(fn) if self.query_timeout else fn
        with self._using(), self.driver.session(database=self.database) as session:
            try:
                return session.execute_read(work)
            except neo4j.exceptions.ClientError as exc:
                raise _timeout(exc) from exc

    def close(self, grace: float | None = None) -> bool:
        """Close the driver once no call is using it; False if some still were after `grace` seconds (None: wait
        for them), and then the connections are left to the process's exit.

        The driver closes connections in use too: one closed under another thread's statement fails that statement
        and, when that thread was writing to it, the close itself (a BufferError that made `serve`'s shutdown fail,
        seen in CI with the write-path rehearsal running). A transaction left open by a connection dropped at exit
        is rolled back by Neo4j, so nothing half-written comes of leaving them."""
        with self._idle:
            if not self._idle.wait_for(lambda: not self._busy, timeout=grace):
                return False
            self.driver.close()  # under the lock: a call starting now meets a closed driver, not a closing one
            return True

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
