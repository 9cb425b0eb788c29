"""Fixtures for tests that seal through the ledger store beside a real namespace
(the web UI's, the operator's witnessing tests): the test's ledger
``<namespace>/guestbook``, a connection to its fresh database, and a key
registered to sign it. Imported by tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.store.ledgers import ensure_ledger
from guestbook_ledger.store.schema import Connection, open_store


@pytest.fixture
def ledger_ref(namespace: str) -> str:
    """The test's ledger as the database names it: ``<namespace>/guestbook``."""
    return f"{namespace}/guestbook"


@pytest.fixture
def store(ledger_dsn: str) -> Iterator[Connection]:
    """A connection to the test's ledger database (``ledger_dsn``), closed afterwards."""
    conn = open_store(ledger_dsn)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def signer(store: Connection, ledger_ref: str) -> Ed25519PrivateKey:
    """A new key registered to sign the tree heads of the test's ledger (created)."""
    key = Ed25519PrivateKey.generate()
    ensure_ledger(store, ledger_ref, public_key=key.public_key())
    return key
