"""Fixtures for the ledger store tests: a migrated database per test, an open
connection to it, a ledger with a registered signing key, and entry factories."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.store import Connection, NewEntry, admit_entries, ensure_ledger

LEDGER = "default/guestbook"

MakeEntries = Callable[..., list[NewEntry]]


@pytest.fixture
def conn(store: Connection) -> Connection:
    """The test database's connection (``store``, tests/store_fixtures.py)."""
    return store


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def ledger(conn: Connection, signer: Ed25519PrivateKey) -> str:
    """The name of a new ledger whose tree heads `signer` may sign."""
    ensure_ledger(conn, LEDGER, public_key=signer.public_key())
    return LEDGER


@pytest.fixture
def make_entries() -> MakeEntries:
    """make_entries(count, start=0) -> entries named entry-<i> with uid uid-<i>."""

    def make(count: int, start: int = 0) -> list[NewEntry]:
        return [
            NewEntry(
                entry=f"entry-{i}",
                uid=f"uid-{i}",
                author=f"Author {i}",
                message=f"Message number {i}",
                submitted_at="2026-11-25T11:26:32Z",
            )
            for i in range(start, start + count)
        ]

    return make


@pytest.fixture
def admit(conn: Connection, ledger: str, make_entries: MakeEntries) -> Callable[[int], None]:
    """admit(count): admit `count` more entries to the ledger, in batches."""
    admitted = 0

    def run(count: int) -> None:
        nonlocal admitted
        for start in range(admitted, admitted + count, 5000):
            size = min(5000, admitted + count - start)
            admit_entries(conn, ledger, make_entries(size, start))
        admitted += count

    return run
