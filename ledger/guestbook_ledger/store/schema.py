"""Connecting to the ledger database and applying its versioned migrations.

Migrations are the files ``migrations/NNNN_title.sql``, applied in order, each in
its own transaction, and recorded in ``schema_migrations``. Starters may race:
an advisory lock serialises them and each re-checks what is applied, so running
`migrate` any number of times, from any number of processes, applies each
migration exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg2
import psycopg2.extensions

from guestbook_ledger.store.errors import DatabaseUnavailableError, InvalidDsnError
from guestbook_ledger.store.locks import MIGRATIONS_LOCK

Connection = psycopg2.extensions.connection

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with this package, in version order."""
    found = []
    for item in resources.files("guestbook_ledger.store").joinpath("migrations").iterdir():
        match = _MIGRATION_FILE.match(item.name)
        if match:
            found.append(Migration(int(match[1]), match[2], item.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    return found


def connect(dsn: str, *, connect_timeout_seconds: int = 10) -> Connection:
    """Open a connection to the ledger database (autocommit off, UTC session).

    Raises InvalidDsnError for a malformed DSN and DatabaseUnavailableError when
    the server cannot be reached or refuses the connection.
    """
    try:
        parsed = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError as exc:
        raise InvalidDsnError(
            f"The connection string {dsn!r} is not a valid PostgreSQL DSN "
            "(expected e.g. postgresql://user@host:5432/dbname)."
        ) from exc
    # Keyword arguments replace the DSN's own, so keep any options it sets.
    options = f"{parsed.get('options', '')} -c timezone=UTC".strip()
    try:
        conn = psycopg2.connect(dsn, connect_timeout=connect_timeout_seconds, options=options)
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).split()) or "no reason given"
        raise DatabaseUnavailableError(
            f"Cannot connect to the ledger database ({reason}); "
            "check that PostgreSQL is running and the DSN is right."
        ) from exc
    return conn


def migrate(conn: Connection) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now.

    Precondition: no transaction is open on `conn`. Each migration commits on
    its own; a failing migration rolls back and raises psycopg2.Error.
    """
    applied_now = []
    for migration in migrations():
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY,"
                " title text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (migration.version,))
            if cur.fetchone() is not None:
                continue
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, title) VALUES (%s, %s)",
                (migration.version, migration.title),
            )
            applied_now.append(migration.version)
    return applied_now


def open_store(dsn: str) -> Connection:
    """Connect to the ledger database and bring its schema up to date.

    Raises InvalidDsnError, DatabaseUnavailableError (see `connect`).
    """
    conn = connect(dsn)
    try:
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn
