"""Hashing in parallel and sealing in sequence order: contiguous, idempotent leaves."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from concurrent_sessions import Session, run_together
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import SignedCheckpoint, verify_checkpoint
from guestbook_ledger.format.hashing import EMPTY_ROOT, leaf_hash
from guestbook_ledger.format.tree import root_hash
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    SigningKeyError,
    TreeDamagedError,
    admit_entries,
    claim_pending,
    latest_tree_head,
    open_store,
    seal_batch,
)

MakeEntries = Callable[..., list[NewEntry]]
Admit = Callable[[int], None]


def _sealed(conn: Connection) -> list[tuple[int, int, bytes, bytes]]:
    """(seq, leaf_index, leaf_hash, record) of every sealed entry, in leaf order."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT seq, leaf_index, leaf_hash, record FROM entries"
            " WHERE state = 'sealed' ORDER BY leaf_index"
        )
        return [(s, i, bytes(h), bytes(r)) for s, i, h, r in cur.fetchall()]


def _table_counts(conn: Connection) -> tuple[int, ...]:
    with conn, conn.cursor() as cur:
        counts = []
        for table in ("entries", "tree_nodes", "tree_heads"):
            cur.execute(f"SELECT count(*) FROM {table}")
            row = cur.fetchone()
            assert row is not None
            counts.append(row[0])
        cur.execute("SELECT count(*) FROM entries WHERE state = 'pending'")
        row = cur.fetchone()
        assert row is not None
        counts.append(row[0])
        return tuple(counts)


def test_the_first_seal_of_an_empty_ledger_signs_the_empty_tree(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    result = seal_batch(conn, ledger, signer)
    assert result.sealed == []
    assert (result.tree_head.tree_size, result.tree_head.root_hash) == (0, EMPTY_ROOT)
    assert isinstance(result.tree_head, SignedCheckpoint)
    verify_checkpoint(result.tree_head, signer.public_key())
    assert latest_tree_head(conn, ledger) == result.tree_head


def test_sealing_appends_in_sequence_order_at_contiguous_indexes(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(10)
    claim_pending(conn, ledger, limit=3)  # some hashed by a worker, the rest by the sealer
    first = seal_batch(conn, ledger, signer, max_entries=4)
    admit(7)
    second = seal_batch(conn, ledger, signer, max_entries=100)
    assert [e.leaf_index for e in first.sealed] == [0, 1, 2, 3]
    assert [e.leaf_index for e in second.sealed] == list(range(4, 17))
    sealed = _sealed(conn)
    assert [seq for seq, *_ in sealed] == list(range(17))
    assert all(h == leaf_hash(record) for _, _, h, record in sealed)
    head = second.tree_head
    assert head.tree_size == 17
    assert head.root_hash == root_hash([h for _, _, h, _ in sealed])
    assert isinstance(head, SignedCheckpoint)
    verify_checkpoint(head, signer.public_key())


def test_sealing_again_with_nothing_pending_changes_nothing(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(5)
    first = seal_batch(conn, ledger, signer)
    before = _table_counts(conn)
    again = seal_batch(conn, ledger, signer)
    assert again.sealed == []
    assert again.tree_head == first.tree_head
    assert _table_counts(conn) == before


def test_sealing_with_an_unregistered_key_is_refused(
    conn: Connection, ledger: str, admit: Admit
) -> None:
    admit(2)
    with pytest.raises(SigningKeyError, match="not registered for ledger"):
        seal_batch(conn, ledger, Ed25519PrivateKey.generate())
    assert latest_tree_head(conn, ledger) is None


def test_concurrent_claimers_never_claim_the_same_entry(
    ledger_dsn: str, ledger: str, admit: Admit
) -> None:
    total, workers = 600, 4
    admit(total)
    claims: list[list[str]] = [[] for _ in range(workers)]

    def claimer(number: int) -> Session:
        def claim(conn: Connection) -> None:
            for _ in range(total):  # bounded: each round claims at least one or stops
                batch = claim_pending(conn, ledger, limit=7)
                if not batch:
                    return
                claims[number].extend(entry.uid for entry in batch)

        return claim

    run_together(lambda: open_store(ledger_dsn), *(claimer(n) for n in range(workers)))
    claimed = [uid for per_worker in claims for uid in per_worker]
    assert len(claimed) == len(set(claimed)) == total


def test_concurrent_sealers_keep_leaves_contiguous_and_each_entry_once(
    ledger_dsn: str, ledger: str, signer: Ed25519PrivateKey, make_entries: MakeEntries
) -> None:
    sealers, rounds = 3, 8

    def seal(conn: Connection) -> None:
        for _ in range(rounds):
            seal_batch(conn, ledger, signer, max_entries=5)

    def admit_while_sealing(conn: Connection) -> None:
        for start in range(0, 60, 6):
            admit_entries(conn, ledger, make_entries(6, start))

    run_together(lambda: open_store(ledger_dsn), *[seal] * sealers, admit_while_sealing)
    conn = open_store(ledger_dsn)
    try:
        seal_batch(conn, ledger, signer, max_entries=100)  # whatever is left
        sealed = _sealed(conn)
        assert [index for _, index, _, _ in sealed] == list(range(60))
        assert [seq for seq, *_ in sealed] == list(range(60))
        head = latest_tree_head(conn, ledger)
        assert head is not None
        assert head.root_hash == root_hash([h for _, _, h, _ in sealed])
    finally:
        conn.close()


@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_batch_limits_out_of_range_are_refused(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, limit: int
) -> None:
    with pytest.raises(ValueError, match="from 1 to 10000"):
        claim_pending(conn, ledger, limit=limit)
    with pytest.raises(ValueError, match="from 1 to 10000"):
        seal_batch(conn, ledger, signer, max_entries=limit)


def test_sealing_refuses_to_extend_a_damaged_tree(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(6)
    sealed_head = seal_batch(conn, ledger, signer).tree_head
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("UPDATE tree_nodes SET hash = sha256('forged') WHERE level = 2")
    admit(3)
    before = _table_counts(conn)
    with pytest.raises(TreeDamagedError, match="does not reproduce its signed root at size 6"):
        seal_batch(conn, ledger, signer)
    assert _table_counts(conn) == before
    assert latest_tree_head(conn, ledger) == sealed_head
