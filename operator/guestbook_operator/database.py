"""The operator's connections to the ledger database: a small thread-safe pool.

Kopf runs synchronous handlers in threads; a psycopg2 connection must not be
shared between them, so each handler borrows one. A connection that failed at
the network level (PostgreSQL restarted) is dropped, and the next borrower
gets a fresh one.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator

import psycopg2
from guestbook_ledger.store.errors import DatabaseUnavailableError
from guestbook_ledger.store.schema import Connection, connect, migrate

# The database is unreachable, or a connection broke mid-query (PostgreSQL
# restarted): worth retrying soon, never a reason to give up on an entry.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    DatabaseUnavailableError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)


class Database:
    """Up to ``size`` idle connections to ``dsn``; more are opened when needed."""

    def __init__(self, dsn: str, *, size: int = 8) -> None:
        self._dsn = dsn
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue(maxsize=size)
        self._migrated = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """Borrow a connection with no open transaction.

        Raises DatabaseUnavailableError (from the store) when PostgreSQL cannot
        be reached.
        """
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self._dsn)
            if not self._migrated:
                migrate(conn)  # idempotent; the first connection brings the schema up to date
                self._migrated = True
        broken = False
        try:
            yield conn
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            broken = True
            raise
        finally:
            if broken or conn.closed:
                conn.close()
            else:
                if conn.status != psycopg2.extensions.STATUS_READY:
                    conn.rollback()
                try:
                    self._idle.put_nowait(conn)
                except queue.Full:
                    conn.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
