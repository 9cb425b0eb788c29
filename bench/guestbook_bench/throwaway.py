"""A database to benchmark in: a given DSN, or a throwaway embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from guestbook_ledger.store.schema import Connection, connect, migrate


def progress(message: str) -> None:
    """A benchmark's progress line, on stderr (its figures go to stdout)."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def bench_database(
    dsn: str | None, *, progress: Callable[[str], None]
) -> Iterator[tuple[Connection, str]]:
    """Yield a migrated connection and a description of the server's settings.

    With `dsn` None, start an embedded PostgreSQL with default durability
    (fsync on) in a temporary folder, and remove it afterwards.
    """
    if dsn is not None:
        yield from _use(dsn)
        return
    from guestbook_localcluster.postgres import start_postgres

    folder = Path(tempfile.mkdtemp(prefix="guestbook-bench-"))
    progress(f"starting an embedded PostgreSQL in {folder}…")
    server = start_postgres(folder / "data", durable=True)
    try:
        admin = connect(server.dsn())
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
        admin.close()
        yield from _use(server.dsn("bench"))
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _use(dsn: str) -> Iterator[tuple[Connection, str]]:
    conn = connect(dsn)
    try:
        migrate(conn)
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT current_setting('server_version'), current_setting('fsync'),"
                " current_setting('synchronous_commit'), current_setting('shared_buffers')"
            )
            row = cur.fetchone()
        assert row is not None
        version, fsync, synchronous_commit, shared_buffers = row
        yield (
            conn,
            (
                f"PostgreSQL {version} on 127.0.0.1 (fsync={fsync}, "
                f"synchronous_commit={synchronous_commit}, shared_buffers={shared_buffers})"
            ),
        )
    finally:
        conn.close()
