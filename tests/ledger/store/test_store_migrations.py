"""Versioned migrations: applied once, idempotent, safe with concurrent starters."""

from __future__ import annotations

import psycopg2
import pytest
from concurrent_sessions import run_together
from guestbook_ledger.store import (
    Connection,
    DatabaseUnavailableError,
    InvalidDsnError,
    connect,
    migrate,
    open_store,
)
from guestbook_ledger.store.schema import migrations
from guestbook_localcluster.postgres import EmbeddedPostgres


def _tables(dsn: str) -> set[str]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def test_first_start_applies_every_migration_and_creates_the_tables(
    empty_database_dsn: str,
) -> None:
    conn = connect(empty_database_dsn)
    try:
        assert migrate(conn) == [m.version for m in migrations()]
    finally:
        conn.close()
    assert {
        "schema_migrations",
        "ledgers",
        "ledger_keys",
        "entries",
        "tree_nodes",
        "tree_heads",
    } <= _tables(empty_database_dsn)


def test_migrating_again_applies_nothing(empty_database_dsn: str) -> None:
    open_store(empty_database_dsn).close()
    conn = connect(empty_database_dsn)
    try:
        assert migrate(conn) == []
        with conn.cursor() as cur:
            cur.execute("SELECT version FROM schema_migrations ORDER BY version")
            assert [v for (v,) in cur.fetchall()] == [m.version for m in migrations()]
    finally:
        conn.close()


def test_concurrent_starters_apply_each_migration_exactly_once(empty_database_dsn: str) -> None:
    starters = 6
    applied: list[list[int]] = []

    def start(conn: Connection) -> None:
        applied.append(migrate(conn))

    run_together(lambda: connect(empty_database_dsn), *[start] * starters)
    assert sorted(v for versions in applied for v in versions) == [m.version for m in migrations()]


def test_a_malformed_dsn_is_a_clear_error() -> None:
    with pytest.raises(InvalidDsnError, match="not a valid PostgreSQL DSN"):
        connect("host=127.0.0.1 port")


def test_an_unreachable_database_is_a_clear_error(postgres_server: EmbeddedPostgres) -> None:
    # A port nothing listens on: the server's own port with a database that is
    # absent gives a refusal too; both must be one sentence.
    with pytest.raises(DatabaseUnavailableError, match="Cannot connect to the ledger database"):
        connect(postgres_server.dsn("no_such_database"))
    with pytest.raises(DatabaseUnavailableError, match="check that PostgreSQL is running"):
        connect("postgresql://postgres@127.0.0.1:1/postgres", connect_timeout_seconds=5)


def test_options_in_the_dsn_are_kept(ledger_dsn: str) -> None:
    conn = connect(f"{ledger_dsn}?options=-c%20application_name%3Dauditor")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT current_setting('application_name'), current_setting('TimeZone')")
            assert cur.fetchone() == ("auditor", "UTC")
    finally:
        conn.close()
