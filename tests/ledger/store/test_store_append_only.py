"""The database itself refuses to rewrite history: UPDATE, DELETE and TRUNCATE of
sealed entries, tree nodes, tree heads, keys and ledgers fail, even for the superuser."""

from __future__ import annotations

from collections.abc import Callable

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.store import Connection, seal_batch

Admit = Callable[[int], None]


@pytest.fixture
def sealed_ledger(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> Connection:
    """A ledger with 4 sealed entries (so nodes exist) and 2 pending ones."""
    admit(4)
    seal_batch(conn, ledger, signer)
    admit(2)
    return conn


def _refused(conn: Connection, statement: str) -> str:
    with pytest.raises(psycopg2.IntegrityError) as caught, conn, conn.cursor() as cur:
        cur.execute(statement)
    return str(caught.value)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE entries SET message = 'rewritten' WHERE seq = 1",
        "UPDATE entries SET leaf_hash = sha256('x') WHERE seq = 1",
        "UPDATE entries SET state = 'withdrawn' WHERE seq = 1",
        "UPDATE entries SET leaf_index = 7 WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 5",
        "TRUNCATE entries CASCADE",
        "UPDATE tree_nodes SET hash = sha256('x')",
        "DELETE FROM tree_nodes",
        "TRUNCATE tree_nodes",
        "UPDATE tree_heads SET root_hash = sha256('x')",
        "DELETE FROM tree_heads",
        "TRUNCATE tree_heads CASCADE",
        "UPDATE ledger_keys SET public_key = sha256('x')",
        "DELETE FROM ledger_keys",
        "UPDATE ledgers SET name = 'renamed'",
        "UPDATE ledgers SET next_seq = 0",
        "DELETE FROM ledgers",
    ],
)
def test_history_cannot_be_rewritten(sealed_ledger: Connection, statement: str) -> None:
    assert "append-only" in _refused(sealed_ledger, statement)


def test_the_content_of_a_pending_entry_cannot_change_either(sealed_ledger: Connection) -> None:
    message = _refused(sealed_ledger, "UPDATE entries SET message = 'rewritten' WHERE seq = 5")
    assert "never change" in message


def test_a_pending_entry_may_be_hashed_then_sealed_or_withdrawn(sealed_ledger: Connection) -> None:
    with sealed_ledger, sealed_ledger.cursor() as cur:
        cur.execute("UPDATE entries SET leaf_hash = sha256('x') WHERE seq = 4")
        cur.execute("UPDATE entries SET state = 'withdrawn' WHERE seq = 5")
        cur.execute("SELECT state FROM entries WHERE seq IN (4, 5) ORDER BY seq")
        assert [s for (s,) in cur.fetchall()] == ["pending", "withdrawn"]
    # Once set, a leaf hash is part of what gets signed: it never changes.
    assert "never change" in _refused(
        sealed_ledger, "UPDATE entries SET leaf_hash = sha256('y') WHERE seq = 4"
    )
