"""Proofs served from the stored tree: they verify, match the in-memory tree, and
cost O(log n) rows however large the ledger."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import tree
from guestbook_ledger.format.proof import verify_consistency, verify_inclusion
from guestbook_ledger.store import (
    Connection,
    TreeSizeError,
    admit_entries,
    consistency_proof,
    ensure_ledger,
    inclusion_proof,
    latest_tree_head,
    root_hash_at,
    seal_batch,
    tree_head_at,
    withdraw_entry,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Admit = Callable[[int], None]


def _leaf_hashes(conn: Connection) -> list[bytes]:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT leaf_hash FROM entries WHERE state = 'sealed' ORDER BY leaf_index")
        return [bytes(h) for (h,) in cur.fetchall()]


def test_every_proof_matches_the_in_memory_tree_and_verifies(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    # Uneven batches, so nodes are completed across seal boundaries.
    heads = {}
    for batch in (1, 2, 5, 3, 8, 13, 1, 10):
        admit(batch)
        head = seal_batch(conn, ledger, signer).tree_head
        heads[head.tree_size] = head.root_hash
    leaves = _leaf_hashes(conn)
    assert len(leaves) == 43
    for size in range(1, len(leaves) + 1):
        root = tree.root_hash(leaves[:size])
        assert root_hash_at(conn, ledger, size) == root
        if size in heads:
            assert heads[size] == root
        for index in range(size):
            proof = inclusion_proof(conn, ledger, index, size)
            assert proof == tree.inclusion_proof(leaves[:size], index)
            verify_inclusion(
                leaf_hash=leaves[index], index=index, size=size, proof=proof, root=root
            )
        for size1 in range(1, size + 1):
            proof = consistency_proof(conn, ledger, size1, size)
            assert proof == tree.consistency_proof(leaves[:size], size1)
            verify_consistency(
                size1=size1,
                size2=size,
                proof=proof,
                root1=tree.root_hash(leaves[:size1]),
                root2=root,
            )


@pytest.mark.parametrize(
    ("call", "complaint"),
    [
        (lambda c, name: inclusion_proof(c, name, 0, 6), "tree size 6 is beyond the tree"),
        (lambda c, name: inclusion_proof(c, name, 5, 5), "leaf index must be between 0 and 4"),
        (lambda c, name: inclusion_proof(c, name, -1, 5), "leaf index must be between 0 and 4"),
        (lambda c, name: inclusion_proof(c, name, 0, 0), "tree size must be between 1"),
        (lambda c, name: inclusion_proof(c, name, 0, 2**70), "tree size must be between 1"),
        (lambda c, name: consistency_proof(c, name, 3, 9), "size2 9 is beyond the tree"),
        (lambda c, name: consistency_proof(c, name, 4, 3), "size1 must be between 1 and 3"),
        (lambda c, name: consistency_proof(c, name, 0, 3), "size1 must be between 1 and 3"),
        (lambda c, name: root_hash_at(c, name, 6), "tree size 6 is beyond the tree"),
        (
            lambda c, name: inclusion_proof(c, name, "1", 5),  # type: ignore[arg-type]
            "leaf index must be an integer",
        ),
    ],
)
def test_sizes_outside_the_tree_are_clear_errors(
    conn: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    admit: Admit,
    call: Callable[[Connection, str], object],
    complaint: str,
) -> None:
    admit(5)
    seal_batch(conn, ledger, signer)
    with pytest.raises(TreeSizeError, match=complaint):
        call(conn, ledger)


def test_the_head_at_each_sealed_size_is_kept(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit
) -> None:
    admit(3)
    first = seal_batch(conn, ledger, signer).tree_head
    admit(2)
    seal_batch(conn, ledger, signer)
    assert tree_head_at(conn, ledger, 3) == first
    assert tree_head_at(conn, ledger, 4) is None


class _CountingCursor(psycopg2.extensions.cursor):
    """Counts statements executed and rows fetched through it (all cursors of a
    connection share one tally)."""

    tally: dict[str, int]

    def execute(self, query: Any, vars: Any = None) -> None:
        self.tally["statements"] += 1
        super().execute(query, vars)

    def fetchone(self) -> Any:
        row = super().fetchone()
        self.tally["rows"] += row is not None
        return row

    def fetchall(self) -> Any:
        rows = super().fetchall()
        self.tally["rows"] += len(rows)
        return rows

    def fetchmany(self, size: int | None = None) -> Any:
        rows = super().fetchmany(size)
        self.tally["rows"] += len(rows)
        return rows

    def __next__(self) -> Any:
        row = super().__next__()
        self.tally["rows"] += 1
        return row


@pytest.fixture
def counted(ledger_dsn: str) -> Iterator[tuple[Connection, dict[str, int]]]:
    tally = {"statements": 0, "rows": 0}
    cursor_class = type("Counting", (_CountingCursor,), {"tally": tally})
    conn = psycopg2.connect(ledger_dsn, cursor_factory=cursor_class)
    try:
        yield conn, tally
    finally:
        conn.close()


def _server_reads(conn: Connection) -> int:
    """Tuples the server read from entries and tree_nodes so far (index and
    sequential), after flushing this session's statistics."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")
    # The flush happens when the session goes idle, i.e. before the next statement.
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_stat_clear_snapshot()")
        cur.execute(
            "SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)"
            " FROM pg_stat_user_tables WHERE relname IN ('entries', 'tree_nodes')"
        )
        row = cur.fetchone()
        assert row is not None
        return int(row[0])


def test_appends_and_proofs_read_logarithmically_many_rows(
    counted: tuple[Connection, dict[str, int]],
    ledger: str,
    signer: Ed25519PrivateKey,
    make_entries: Callable[..., Any],
) -> None:
    conn, tally = counted
    costs = {}
    size = 0
    for target in (2**8 + 5, 2**14 + 5):
        while size < target:
            step = min(5000, target - size)
            admit_entries(conn, ledger, make_entries(step, size))
            seal_batch(conn, ledger, signer, max_entries=5000)
            size += step
        with conn, conn.cursor() as cur:
            cur.execute("ANALYZE entries")
            cur.execute("ANALYZE tree_nodes")
        admit_entries(conn, ledger, make_entries(1, size))
        _server_reads(conn)
        tally.update(statements=0, rows=0)
        server_before = _server_reads(conn)
        tally.update(statements=0, rows=0)
        seal_batch(conn, ledger, signer)  # append one entry
        size += 1
        append = dict(tally)
        append_server = _server_reads(conn) - server_before
        tally.update(statements=0, rows=0)
        server_before = _server_reads(conn)
        tally.update(statements=0, rows=0)
        inclusion_proof(conn, ledger, 3, size)
        consistency_proof(conn, ledger, 7, size)
        proofs = dict(tally)
        proofs_server = _server_reads(conn) - server_before
        costs[size] = (append, append_server, proofs, proofs_server)

    small, large = sorted(costs)
    # 64 times the leaves, yet the client receives about the same rows: a proof
    # is at most about 2·log2(n) nodes, an append reads the frontier (≤ log2 n).
    for append, _, proofs, _ in costs.values():
        assert append["statements"] <= 10
        assert proofs["statements"] <= 10
        assert append["rows"] <= 30
        assert proofs["rows"] <= 2 * 2 * 16 + 10
    assert costs[large][0]["rows"] <= costs[small][0]["rows"] + 2
    assert costs[large][2]["rows"] <= costs[small][2]["rows"] + 2 * 6 + 4
    # And the server reads O(log n) tuples, not a pass over 16390 leaves.
    # (At the small size the planner may rightly prefer a sequential scan.)
    _, append_server, _, proofs_server = costs[large]
    assert append_server <= 4 * 15
    assert proofs_server <= 2 * 2 * 15 + 20


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6),
    withdrawn=st.sets(st.integers(min_value=0, max_value=239), max_size=10),
    picks=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)), min_size=1),
)
def test_random_histories_serve_the_same_proofs_as_the_in_memory_tree(
    conn: Connection,
    signer: Ed25519PrivateKey,
    make_entries: Callable[..., Any],
    batches: list[int],
    withdrawn: set[int],
    picks: list[tuple[int, int]],
) -> None:
    # A new ledger per example (same database): no state carries over.
    ledger = f"hypothesis/ledger-{uuid.uuid4().hex[:12]}"
    ensure_ledger(conn, ledger, public_key=signer.public_key())
    admitted = 0
    for batch in batches:
        admit_entries(conn, ledger, make_entries(batch, admitted))
        for number in range(admitted, admitted + batch):
            if number in withdrawn:
                withdraw_entry(conn, ledger, f"uid-{number}")
        admitted += batch
        seal_batch(conn, ledger, signer)
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT e.leaf_hash, e.uid FROM entries e JOIN ledgers l ON l.id = e.ledger_id"
            " WHERE l.namespace || '/' || l.name = %s AND e.state = 'sealed'"
            " ORDER BY e.leaf_index",
            (ledger,),
        )
        rows = cur.fetchall()
    leaves = [bytes(h) for h, _ in rows]
    assert [uid for _, uid in rows] == [f"uid-{n}" for n in range(admitted) if n not in withdrawn]
    head = latest_tree_head(conn, ledger)
    assert head is not None and head.tree_size == len(leaves)
    assert head.root_hash == tree.root_hash(leaves)
    if not leaves:
        return
    for first, second in picks:
        size = 1 + second % len(leaves)
        index = first % size
        assert inclusion_proof(conn, ledger, index, size) == tree.inclusion_proof(
            leaves[:size], index
        )
        size1 = 1 + first % size
        assert consistency_proof(conn, ledger, size1, size) == tree.consistency_proof(
            leaves[:size], size1
        )
