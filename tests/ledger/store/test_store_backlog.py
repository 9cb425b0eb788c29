"""The queue as the operator reads it: pending count and entries, the first tree
head containing a leaf, and seal latencies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    UnknownLedgerError,
    admit_entries,
    ensure_ledger,
    first_head_containing,
    pending_count,
    pending_entries,
    seal_batch,
    seal_latencies,
    withdraw_entry,
)

Admit = Callable[[int], None]


def test_pending_count_and_entries_follow_admission_sealing_and_withdrawal(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    assert pending_count(conn, ledger) == 0
    assert pending_entries(conn, ledger, limit=10) == []
    admit(5)
    seal_batch(conn, ledger, signer, max_entries=2)
    withdraw_entry(conn, ledger, "uid-3")
    assert pending_count(conn, ledger) == 2
    pending = pending_entries(conn, ledger, limit=10)
    assert [(p.uid, p.entry_name) for p in pending] == [("uid-2", "entry-2"), ("uid-4", "entry-4")]
    assert all(p.age_seconds >= 0 for p in pending)
    # Oldest first, and no more than asked for.
    assert [p.uid for p in pending_entries(conn, ledger, limit=1)] == ["uid-2"]


def test_other_ledgers_queues_are_not_counted(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(3)
    ensure_ledger(conn, "other/guestbook", public_key=signer.public_key())
    assert pending_count(conn, "other/guestbook") == 0
    assert pending_entries(conn, "other/guestbook", limit=10) == []


def test_first_head_containing_is_the_seal_that_took_the_leaf(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(3)
    first = seal_batch(conn, ledger, signer).tree_head
    admit(2)
    second = seal_batch(conn, ledger, signer).tree_head
    assert [first_head_containing(conn, ledger, i) for i in range(5)] == [first] * 3 + [second] * 2
    assert first_head_containing(conn, ledger, 5) is None


def test_seal_latencies_measure_creation_to_seal_and_never_go_negative(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    long_ago, future = "2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    admit_entries(
        conn,
        ledger,
        [
            NewEntry(entry=f"e{i}", uid=f"u{i}", author="", message="hi", submitted_at=stamp)
            for i, stamp in enumerate([long_ago, future, long_ago])
        ],
    )
    seal_batch(conn, ledger, signer)
    since_2000 = (datetime.now(UTC) - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds()
    latencies = sorted(seal_latencies(conn, ledger, 0, 2))
    assert latencies[0] == 0.0  # created "in the future": clock skew counts as 0
    assert since_2000 - 3600 < latencies[1] <= since_2000
    assert len(seal_latencies(conn, ledger, 0, 3)) == 3
    assert seal_latencies(conn, ledger, 3, 10) == []


@pytest.mark.parametrize(
    "read",
    [
        lambda c: pending_count(c, "nowhere/none"),
        lambda c: pending_entries(c, "nowhere/none", limit=1),
        lambda c: first_head_containing(c, "nowhere/none", 0),
        lambda c: seal_latencies(c, "nowhere/none", 0, 1),
    ],
)
def test_reading_the_queue_of_an_unknown_ledger_is_refused(
    conn: Connection, read: Callable[[Connection], object]
) -> None:
    with pytest.raises(UnknownLedgerError):
        read(conn)
