"""Stored signed tree heads: ledger format v1 JSON heads and C2SP checkpoints.

Each row of ``tree_heads`` says in ``format`` how it was signed (see migration
0002): ``sth-json-v1`` rows were sealed before checkpoints and read back as
`SignedTreeHead`; ``checkpoint`` rows read back as `SignedCheckpoint`.
"""

from __future__ import annotations

from typing import Any

from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.checkpoint import SignedCheckpoint, TreeHead
from guestbook_ledger.format.sth import SignedTreeHead
from guestbook_ledger.store.ledgers import Ledger, find_ledger
from guestbook_ledger.store.schema import Connection

HEAD_COLUMNS = "tree_size, root_hash, signed_at, key_id, signature, format, origin, note_key_id"
FORMAT_STH_JSON = "sth-json-v1"
FORMAT_CHECKPOINT = "checkpoint"


def head_from_row(ledger: Ledger, row: tuple[Any, ...]) -> TreeHead:
    """Build the tree head of a row selected with HEAD_COLUMNS."""
    tree_size, root_hash, signed_at, kid, signature, head_format, origin, note_key_id = row
    if head_format == FORMAT_CHECKPOINT:
        return SignedCheckpoint(
            ledger=ledger.full_name,
            origin=origin,
            tree_size=tree_size,
            root_hash=bytes(root_hash),
            timestamp=signed_at,
            key_id=bytes(kid).hex(),
            note_key_id=bytes(note_key_id),
            signature=bytes(signature),
        )
    return SignedTreeHead(
        ledger=ledger.full_name,
        tree_size=tree_size,
        root_hash=bytes(root_hash),
        timestamp=signed_at,
        key_id=bytes(kid).hex(),
        signature=bytes(signature),
    )


def read_latest_head(cur: Cursor, ledger: Ledger) -> TreeHead | None:
    """The largest signed tree head of `ledger` (within the caller's transaction)."""
    cur.execute(
        f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s"
        " ORDER BY tree_size DESC LIMIT 1",
        (ledger.id,),
    )
    row = cur.fetchone()
    return None if row is None else head_from_row(ledger, row)


def insert_head(cur: Cursor, ledger: Ledger, head: TreeHead) -> None:
    """Store a signed tree head (its key must be registered for the ledger)."""
    if isinstance(head, SignedCheckpoint):
        head_format, origin, note_key_id = FORMAT_CHECKPOINT, head.origin, head.note_key_id
    else:
        head_format, origin, note_key_id = FORMAT_STH_JSON, None, None
    cur.execute(
        f"INSERT INTO tree_heads (ledger_id, {HEAD_COLUMNS})"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            ledger.id,
            head.tree_size,
            head.root_hash,
            head.timestamp,
            bytes.fromhex(head.key_id),
            head.signature,
            head_format,
            origin,
            note_key_id,
        ),
    )


def latest_tree_head(conn: Connection, ledger: str) -> TreeHead | None:
    """The newest signed tree head of ``NAMESPACE/NAME``, or None before the first seal.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        return read_latest_head(cur, find_ledger(cur, ledger))


def latest_checkpoint(conn: Connection, ledger: str) -> SignedCheckpoint | None:
    """The newest checkpoint of ``NAMESPACE/NAME`` (what ``/checkpoint`` serves), or
    None before its first checkpoint. One index lookup.

    Raises LedgerNameError, UnknownLedgerError.
    """
    head = _first_head(conn, ledger, "format = %s ORDER BY tree_size DESC", FORMAT_CHECKPOINT)
    assert head is None or isinstance(head, SignedCheckpoint)
    return head


def tree_head_at(conn: Connection, ledger: str, tree_size: int) -> TreeHead | None:
    """The signed tree head of ``NAMESPACE/NAME`` at exactly `tree_size`, or None.

    Raises LedgerNameError, UnknownLedgerError.
    """
    return _first_head(conn, ledger, "tree_size = %s", tree_size)


def first_head_containing(conn: Connection, ledger: str, leaf_index: int) -> TreeHead | None:
    """The oldest signed tree head of ``NAMESPACE/NAME`` whose tree includes leaf
    `leaf_index`: the tree an entry was first sealed into. None when no head
    covers it yet. One lookup on the primary key of ``tree_heads``.

    Raises LedgerNameError, UnknownLedgerError.
    """
    return _first_head(conn, ledger, "tree_size > %s ORDER BY tree_size", leaf_index)


def _first_head(conn: Connection, ledger: str, where: str, value: object) -> TreeHead | None:
    """The first tree head of ``NAMESPACE/NAME`` by ``where`` (an SQL condition on
    one parameter, ``value``, with its order), or None. Raises LedgerNameError,
    UnknownLedgerError."""
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s AND {where} LIMIT 1",
            (found.id, value),
        )
        row = cur.fetchone()
    return None if row is None else head_from_row(found, row)
