"""Stored signed tree heads."""

from __future__ import annotations

from typing import Any

from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.sth import SignedTreeHead
from guestbook_ledger.store.ledgers import Ledger, find_ledger
from guestbook_ledger.store.schema import Connection

HEAD_COLUMNS = "tree_size, root_hash, signed_at, key_id, signature"


def head_from_row(ledger: Ledger, row: tuple[Any, ...]) -> SignedTreeHead:
    """Build a SignedTreeHead from a row selected with HEAD_COLUMNS."""
    tree_size, root_hash, signed_at, kid, signature = row
    return SignedTreeHead(
        ledger=ledger.full_name,
        tree_size=tree_size,
        root_hash=bytes(root_hash),
        timestamp=signed_at,
        key_id=bytes(kid).hex(),
        signature=bytes(signature),
    )


def read_latest_head(cur: Cursor, ledger: Ledger) -> SignedTreeHead | None:
    """The largest signed tree head of `ledger` (within the caller's transaction)."""
    cur.execute(
        f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s"
        " ORDER BY tree_size DESC LIMIT 1",
        (ledger.id,),
    )
    row = cur.fetchone()
    return None if row is None else head_from_row(ledger, row)


def insert_head(cur: Cursor, ledger: Ledger, head: SignedTreeHead) -> None:
    """Store a signed tree head (its key must be registered for the ledger)."""
    cur.execute(
        f"INSERT INTO tree_heads (ledger_id, {HEAD_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
        (
            ledger.id,
            head.tree_size,
            head.root_hash,
            head.timestamp,
            bytes.fromhex(head.key_id),
            head.signature,
        ),
    )


def latest_tree_head(conn: Connection, ledger: str) -> SignedTreeHead | None:
    """The newest signed tree head of ``NAMESPACE/NAME``, or None before the first seal.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        return read_latest_head(cur, find_ledger(cur, ledger))


def tree_head_at(conn: Connection, ledger: str, tree_size: int) -> SignedTreeHead | None:
    """The signed tree head of ``NAMESPACE/NAME`` at exactly `tree_size`, or None.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s AND tree_size = %s",
            (found.id, tree_size),
        )
        row = cur.fetchone()
    return None if row is None else head_from_row(found, row)


def first_head_containing(conn: Connection, ledger: str, leaf_index: int) -> SignedTreeHead | None:
    """The oldest signed tree head of ``NAMESPACE/NAME`` whose tree includes leaf
    `leaf_index`: the tree an entry was first sealed into. None when no head
    covers it yet. One lookup on the primary key of ``tree_heads``.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads"
            " WHERE ledger_id = %s AND tree_size > %s ORDER BY tree_size LIMIT 1",
            (found.id, leaf_index),
        )
        row = cur.fetchone()
    return None if row is None else head_from_row(found, row)
