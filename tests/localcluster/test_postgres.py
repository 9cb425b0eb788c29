"""The embedded PostgreSQL: runs without a system install, as an unprivileged user,
on 127.0.0.1 only, and keeps its data across restarts."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from guestbook_localcluster.postgres import (
    SERVICE_USER,
    EmbeddedPostgres,
    EmbeddedPostgresError,
    start_postgres,
)


def _query(dsn: str, statement: str) -> object:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchone()[0] if cur.description else None  # type: ignore[index]
    finally:
        conn.close()


def test_the_session_server_listens_on_loopback_only(postgres_server: EmbeddedPostgres) -> None:
    dsn = postgres_server.dsn()
    assert postgres_server.host == "127.0.0.1"
    assert _query(dsn, "SHOW listen_addresses") == "127.0.0.1"
    assert _query(dsn, "SHOW unix_socket_directories") == ""
    data_owner = postgres_server.data_dir.stat().st_uid
    if os.geteuid() == 0:
        # PostgreSQL refuses root; the wheel's server runs as the service user.
        assert pwd.getpwuid(data_owner).pw_name == SERVICE_USER
    else:
        assert data_owner == os.geteuid()


@pytest.fixture
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="guestbook-pg-scratch-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_server_keeps_its_data_across_restarts(scratch: Path) -> None:
    server = start_postgres(scratch / "data", durable=False)
    try:
        assert start_postgres(scratch / "data") == server  # already running: reused
        _query(server.dsn(), "CREATE TABLE kept (note text)")
        _query(server.dsn(), "INSERT INTO kept VALUES ('still here')")
    finally:
        server.stop()
    server.stop()  # stopping twice is harmless
    restarted = start_postgres(scratch / "data", durable=False)
    try:
        assert _query(restarted.dsn(), "SELECT note FROM kept") == "still here"
    finally:
        restarted.stop()


def test_a_missing_parent_folder_is_a_clear_error(scratch: Path) -> None:
    with pytest.raises(EmbeddedPostgresError, match="does not exist; create it first"):
        start_postgres(scratch / "absent" / "data")


def test_restart_ends_sessions_and_comes_back_on_the_same_port_with_its_settings(
    scratch: Path,
) -> None:
    server = start_postgres(scratch / "data", durable=False)
    try:
        _query(server.dsn(), "CREATE TABLE kept (note text)")
        _query(server.dsn(), "INSERT INTO kept VALUES ('still here')")
        session = psycopg2.connect(server.dsn())
        try:
            server.restart()
            with pytest.raises(psycopg2.OperationalError), session.cursor() as cur:
                cur.execute("SELECT 1")  # the old session was ended
        finally:
            session.close()
        assert _query(server.dsn(), "SELECT note FROM kept") == "still here"
        assert _query(server.dsn(), "SHOW fsync") == "off"
        assert _query(server.dsn(), "SHOW listen_addresses") == "127.0.0.1"
    finally:
        server.stop()
    with pytest.raises(EmbeddedPostgresError, match="is not running; start it first"):
        server.restart()
