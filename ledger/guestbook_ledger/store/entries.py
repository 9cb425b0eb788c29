"""Entries as stored: reading one entry back by uid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection

EntryState = Literal["pending", "sealed", "withdrawn"]

ENTRY_COLUMNS = (
    "seq, uid, entry_name, author, message, submitted_at, record,"
    " state, leaf_hash, leaf_index, admitted_at, sealed_at"
)


@dataclass(frozen=True)
class StoredEntry:
    """One entry row. `leaf_hash` is set once hashed; `leaf_index` and
    `sealed_at` once sealed into the tree."""

    ledger: str
    seq: int
    uid: str
    entry_name: str
    author: str
    message: str
    submitted_at: str
    record: bytes
    state: EntryState
    leaf_hash: bytes | None
    leaf_index: int | None
    admitted_at: datetime
    sealed_at: datetime | None


def entry_from_row(ledger: str, row: tuple[Any, ...]) -> StoredEntry:
    """Build a StoredEntry from a row selected with ENTRY_COLUMNS."""
    (seq, uid, entry_name, author, message, submitted_at, record) = row[:7]
    (state, leaf_hash, leaf_index, admitted_at, sealed_at) = row[7:]
    return StoredEntry(
        ledger=ledger,
        seq=seq,
        uid=uid,
        entry_name=entry_name,
        author=author,
        message=message,
        submitted_at=submitted_at,
        record=bytes(record),
        state=cast(EntryState, state),
        leaf_hash=None if leaf_hash is None else bytes(leaf_hash),
        leaf_index=leaf_index,
        admitted_at=admitted_at,
        sealed_at=sealed_at,
    )


def entry_by_uid(conn: Connection, ledger: str, uid: str) -> StoredEntry | None:
    """The entry with this uid in ``NAMESPACE/NAME``, or None.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE ledger_id = %s AND uid = %s",
            (found.id, uid),
        )
        row = cur.fetchone()
    return None if row is None else entry_from_row(found.full_name, row)
