"""Admission: an entry joins its ledger's queue with the next sequence number.

The ledger row is the sequencer. Admission locks it (by advancing its counter),
so within a ledger sequence numbers are gapless and commit in order, and two
admissions of one uid can never both insert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.errors import EntryConflictError, EntryStateError, UnknownEntryError
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection


@dataclass(frozen=True)
class Admission:
    """Where an entry stands after `admit_entry`: its sequence number, and
    whether this call admitted it (False: it was already there)."""

    seq: int
    admitted_now: bool


def admit_entry(
    conn: Connection,
    ledger: str,
    *,
    entry: str,
    uid: str,
    author: str,
    message: str,
    submitted_at: str,
) -> Admission:
    """Admit an entry to ``ledger`` as pending; idempotent by `uid`. Commits.

    Admitting the same uid again with the same content returns the existing
    sequence number. Preconditions: the ledger exists (see `ensure_ledger`).

    Raises RecordError when the fields cannot form a record (invalid Unicode,
    oversized or malformed fields; NUL characters, which PostgreSQL text cannot
    hold), EntryConflictError when the uid is already admitted with different
    content, LedgerNameError or UnknownLedgerError. Nothing is written on error.
    """
    record = entry_record(
        ledger=ledger,
        entry=entry,
        uid=uid,
        author=author,
        message=message,
        submitted_at=submitted_at,
    )
    for value, what in ((author, "author"), (message, "message"), (uid, "uid")):
        if "\x00" in value:
            raise RecordError(f"{what} contains a NUL character; remove it and submit again")
    # Store the text exactly as in the record (NFC), so fields and record agree.
    fields = _record_fields(record)
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        existing = _existing(cur, found.id, uid, record)
        if existing is not None:
            return Admission(seq=existing, admitted_now=False)
        cur.execute(
            "UPDATE ledgers SET next_seq = next_seq + 1 WHERE id = %s RETURNING next_seq - 1",
            (found.id,),
        )
        row = cur.fetchone()
        assert row is not None  # find_ledger saw the row, and ledgers are never deleted
        seq: int = row[0]
        # Re-check under the ledger lock: a concurrent admission of this uid may
        # have committed while we waited for it.
        existing = _existing(cur, found.id, uid, record)
        if existing is not None:
            conn.rollback()
            return Admission(seq=existing, admitted_now=False)
        cur.execute(
            "INSERT INTO entries (ledger_id, seq, uid, entry_name, author, message,"
            " submitted_at, record) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (found.id, seq, uid, entry, fields["author"], fields["message"], submitted_at, record),
        )
    return Admission(seq=seq, admitted_now=True)


def _record_fields(record: bytes) -> dict[str, str]:
    parsed: dict[str, str] = json.loads(record)
    return parsed


def _existing(cur: Cursor, ledger_id: int, uid: str, record: bytes) -> int | None:
    """The sequence number of `uid` if admitted with this exact record, else None.

    Raises EntryConflictError when the uid is admitted with a different record.
    """
    cur.execute(
        "SELECT seq, record FROM entries WHERE ledger_id = %s AND uid = %s", (ledger_id, uid)
    )
    row = cur.fetchone()
    if row is None:
        return None
    if bytes(row[1]) != record:
        raise EntryConflictError(
            f"An entry with uid {uid!r} is already in the ledger with different content; "
            "an entry never changes, so submit a new entry instead."
        )
    seq: int = row[0]
    return seq


def withdraw_entry(conn: Connection, ledger: str, uid: str) -> None:
    """Withdraw a pending entry so it is never sealed. Idempotent; commits.

    Raises UnknownEntryError when no such uid exists, EntryStateError when the
    entry is already sealed (sealed entries are permanent), LedgerNameError or
    UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT state, entry_name FROM entries WHERE ledger_id = %s AND uid = %s FOR UPDATE",
            (found.id, uid),
        )
        row = cur.fetchone()
        if row is None:
            raise UnknownEntryError(f"There is no entry with uid {uid!r} in ledger {ledger!r}.")
        state, entry_name = row
        if state == "withdrawn":
            return
        if state == "sealed":
            raise EntryStateError(
                f"Entry {entry_name!r} (uid {uid!r}) is already sealed into ledger {ledger!r}; "
                "sealed entries are permanent and cannot be withdrawn."
            )
        cur.execute(
            "UPDATE entries SET state = 'withdrawn' WHERE ledger_id = %s AND uid = %s",
            (found.id, uid),
        )
