"""Inclusion and consistency proofs served from the stored tree.

Each proof element is the Merkle Tree Hash of a leaf range (see
`guestbook_ledger.format.ranges`); the ranges decompose into O(log n) stored
perfect subtrees, fetched in one query. Proofs exist for every size up to the
latest signed tree head, since perfect subtrees never change once complete.
"""

from __future__ import annotations

from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.limits import MAX_TREE_SIZE
from guestbook_ledger.format.ranges import (
    consistency_ranges,
    fold_range,
    inclusion_ranges,
    perfect_subtrees,
)
from guestbook_ledger.store.errors import TreeSizeError
from guestbook_ledger.store.heads import read_latest_head
from guestbook_ledger.store.ledgers import Ledger, find_ledger
from guestbook_ledger.store.nodes import read_nodes
from guestbook_ledger.store.schema import Connection


def _check_number(value: int, what: str, minimum: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TreeSizeError(f"{what} must be an integer; got {value!r}")
    if not minimum <= value <= maximum:
        raise TreeSizeError(f"{what} must be between {minimum} and {maximum}; got {value}")


def _sealed_size(cur: Cursor, ledger: Ledger) -> int:
    head = read_latest_head(cur, ledger)
    return 0 if head is None else head.tree_size


def _check_tree_size(cur: Cursor, ledger: Ledger, size: int, what: str) -> None:
    _check_number(size, what, 1, MAX_TREE_SIZE)
    sealed = _sealed_size(cur, ledger)
    if size > sealed:
        raise TreeSizeError(
            f"{what} {size} is beyond the tree of ledger {ledger.full_name!r}, "
            f"which has {sealed} sealed entries."
        )


def range_hashes(cur: Cursor, ledger_id: int, ranges: list[tuple[int, int]]) -> list[bytes]:
    """The Merkle Tree Hash of each aligned leaf range, from stored nodes (one query)."""
    plans = [perfect_subtrees(begin, end) for begin, end in ranges]
    hashes = read_nodes(cur, ledger_id, [node for plan in plans for node in plan])
    result = []
    position = 0
    for plan in plans:
        result.append(fold_range(hashes[position : position + len(plan)]))
        position += len(plan)
    return result


def inclusion_proof(conn: Connection, ledger: str, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.

    Requires 0 ≤ index < size ≤ the latest signed tree size; raises
    TreeSizeError (a ValueError) otherwise, and LedgerNameError,
    UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        _check_tree_size(cur, found, size, "tree size")
        _check_number(index, "leaf index", 0, size - 1)
        return range_hashes(cur, found.id, inclusion_ranges(index, size))


def consistency_proof(conn: Connection, ledger: str, size1: int, size2: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of `size1` leaves to `size2`.

    Requires 1 ≤ size1 ≤ size2 ≤ the latest signed tree size (equal sizes give
    the empty proof); raises TreeSizeError (a ValueError) otherwise, and
    LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        _check_tree_size(cur, found, size2, "size2")
        _check_number(size1, "size1", 1, size2)
        return range_hashes(cur, found.id, consistency_ranges(size1, size2))


def root_hash_at(conn: Connection, ledger: str, size: int) -> bytes:
    """The root hash of the tree of the first `size` leaves, from stored nodes.

    Requires 0 ≤ size ≤ the latest signed tree size; raises TreeSizeError
    otherwise, and LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        _check_number(size, "tree size", 0, MAX_TREE_SIZE)
        if size:
            _check_tree_size(cur, found, size, "tree size")
        return range_hashes(cur, found.id, [(0, size)])[0]
