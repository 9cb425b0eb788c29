"""Admission: an entry joins its ledger's queue with the next sequence number.

The ledger row is the sequencer. Admission locks it and advances its counter,
so within a ledger sequence numbers are gapless and commit in order, and two
admissions of one uid can never both insert.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg2.extras import execute_values

from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.errors import EntryConflictError, EntryStateError, UnknownEntryError
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection

MAX_ADMISSION_BATCH = 10_000
"""Most entries one `admit_entries` call takes, so one transaction stays short."""


@dataclass(frozen=True)
class NewEntry:
    """The fields of an entry to admit (from the GuestbookEntry resource)."""

    entry: str
    uid: str
    author: str
    message: str
    submitted_at: str


@dataclass(frozen=True)
class Admission:
    """Where an entry stands after admission: its sequence number, and whether
    this call admitted it (False: it was already there)."""

    uid: str
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
    """Admit one entry to ``ledger`` as pending; idempotent by `uid`. Commits.

    See `admit_entries` for preconditions and errors.
    """
    fields = NewEntry(
        entry=entry, uid=uid, author=author, message=message, submitted_at=submitted_at
    )
    return admit_entries(conn, ledger, [fields])[0]


def admit_entries(conn: Connection, ledger: str, entries: Sequence[NewEntry]) -> list[Admission]:
    """Admit entries to ``ledger`` as pending, in the order given, in one
    transaction; idempotent by uid. Returns one Admission per entry. Commits.

    An entry whose uid is already admitted with the same content keeps its
    sequence number. Preconditions: the ledger exists (see `ensure_ledger`).

    Raises RecordError when any entry's fields cannot form a record (invalid
    Unicode, oversized or malformed fields, NUL characters, which PostgreSQL
    text cannot hold), EntryConflictError when a uid is already admitted (or
    repeated in `entries`) with different content, ValueError for more than
    MAX_ADMISSION_BATCH entries, LedgerNameError or UnknownLedgerError.
    Nothing is written on error.
    """
    if len(entries) > MAX_ADMISSION_BATCH:
        raise ValueError(f"admit at most {MAX_ADMISSION_BATCH} entries at once; got {len(entries)}")
    records: dict[str, bytes] = {}
    for fields in entries:
        record = new_entry_record(ledger, fields)
        if records.setdefault(fields.uid, record) != record:
            raise _conflict(fields.uid)
    if not records:
        return []
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        # Taking the sequencer lock first serialises admissions to this ledger, so
        # the check for existing uids below cannot race with another admission.
        cur.execute("SELECT next_seq FROM ledgers WHERE id = %s FOR UPDATE", (found.id,))
        row = cur.fetchone()
        assert row is not None  # find_ledger saw it, and ledgers are never deleted
        next_seq: int = row[0]
        cur.execute(
            "SELECT uid, seq, record FROM entries WHERE ledger_id = %s AND uid = ANY(%s)",
            (found.id, list(records)),
        )
        seqs: dict[str, int] = {}
        for uid, seq, stored in cur.fetchall():
            if bytes(stored) != records[uid]:
                raise _conflict(uid)
            seqs[uid] = seq
        new_rows = []
        for uid, record in records.items():
            if uid not in seqs:
                seqs[uid] = next_seq
                parsed = json.loads(record)
                new_rows.append(
                    (
                        found.id,
                        next_seq,
                        uid,
                        parsed["entry"],
                        parsed["author"],
                        parsed["message"],
                        parsed["submittedAt"],
                        record,
                    )
                )
                next_seq += 1
        if new_rows:
            execute_values(
                cur,
                "INSERT INTO entries (ledger_id, seq, uid, entry_name, author, message,"
                " submitted_at, record) VALUES %s",
                new_rows,
                page_size=len(new_rows),
            )
            cur.execute("UPDATE ledgers SET next_seq = %s WHERE id = %s", (next_seq, found.id))
    admitted_now = {row[2] for row in new_rows}
    return [
        Admission(uid=fields.uid, seq=seqs[fields.uid], admitted_now=fields.uid in admitted_now)
        for fields in entries
    ]


def new_entry_record(ledger: str, fields: NewEntry) -> bytes:
    """The canonical record of `fields` in `ledger`, as admission stores it; raises
    RecordError when it cannot be made."""
    record = entry_record(
        ledger=ledger,
        entry=fields.entry,
        uid=fields.uid,
        author=fields.author,
        message=fields.message,
        submitted_at=fields.submitted_at,
    )
    for value, what in (
        (fields.author, "author"),
        (fields.message, "message"),
        (fields.uid, "uid"),
    ):
        if "\x00" in value:
            raise RecordError(f"{what} contains a NUL character; remove it and submit again")
    return record


def _conflict(uid: str) -> EntryConflictError:
    return EntryConflictError(
        f"An entry with uid {uid!r} is already admitted with different content; "
        "an entry never changes, so submit a new entry instead."
    )


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
