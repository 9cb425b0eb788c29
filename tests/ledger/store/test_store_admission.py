"""Admission: idempotent by uid, gapless sequence numbers, bad input writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from concurrent_sessions import Session, run_together
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.store import (
    Connection,
    EntryConflictError,
    EntryStateError,
    LedgerNameError,
    NewEntry,
    UnknownEntryError,
    UnknownLedgerError,
    admit_entries,
    admit_entry,
    entry_by_uid,
    open_store,
    seal_batch,
    withdraw_entry,
)

MakeEntries = Callable[..., list[NewEntry]]


def _entry_count(conn: Connection) -> int:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM entries")
        row = cur.fetchone()
        assert row is not None
        count: int = row[0]
        return count


def _admit(conn: Connection, ledger: str, entry: NewEntry) -> int:
    return admit_entry(
        conn,
        ledger,
        entry=entry.entry,
        uid=entry.uid,
        author=entry.author,
        message=entry.message,
        submitted_at=entry.submitted_at,
    ).seq


def test_admission_assigns_gapless_sequence_numbers_in_order(
    conn: Connection, ledger: str, make_entries: MakeEntries
) -> None:
    first, second, third = make_entries(3)
    assert [_admit(conn, ledger, e) for e in (first, second, third)] == [0, 1, 2]
    stored = entry_by_uid(conn, ledger, second.uid)
    assert stored is not None
    assert (stored.state, stored.seq, stored.entry_name, stored.message) == (
        "pending",
        1,
        "entry-1",
        "Message number 1",
    )
    assert stored.leaf_hash is None and stored.leaf_index is None


def test_admitting_the_same_uid_again_returns_its_sequence_number_and_adds_nothing(
    conn: Connection, ledger: str, make_entries: MakeEntries
) -> None:
    entries = make_entries(3)
    first = admit_entries(conn, ledger, entries)
    again = admit_entries(conn, ledger, [entries[1], *make_entries(1, start=3)])
    assert [a.seq for a in first] == [0, 1, 2]
    assert [(a.uid, a.seq, a.admitted_now) for a in again] == [
        ("uid-1", 1, False),
        ("uid-3", 3, True),
    ]
    assert _entry_count(conn) == 4


def test_a_uid_admitted_with_different_content_is_refused_and_nothing_is_written(
    conn: Connection, ledger: str, make_entries: MakeEntries
) -> None:
    (entry,) = make_entries(1)
    _admit(conn, ledger, entry)
    altered = NewEntry(entry.entry, entry.uid, entry.author, "another message", entry.submitted_at)
    with pytest.raises(EntryConflictError, match="already admitted with different content"):
        admit_entries(conn, ledger, [*make_entries(2, start=1), altered])
    assert _entry_count(conn) == 1


@pytest.mark.parametrize(
    ("author", "message", "complaint"),
    [
        ("ok", "lone surrogate \ud800 here", "invalid Unicode"),
        ("\udfff", "fine", "invalid Unicode"),
        ("x" * 65, "fine", "author must be at most 64"),
        ("ok", "m" * 2001, "message must be at most 2000"),
        ("ok", "", "message must not be empty"),
        ("ok", "nul \x00 byte", "NUL character"),
    ],
)
def test_bad_fields_are_a_clear_error_and_nothing_is_written(
    conn: Connection, ledger: str, author: str, message: str, complaint: str
) -> None:
    bad = NewEntry("entry-bad", "uid-bad", author, message, "2026-11-25T11:26:32Z")
    good = NewEntry("entry-good", "uid-good", "ok", "fine", "2026-11-25T11:26:32Z")
    with pytest.raises(RecordError, match=complaint):
        admit_entries(conn, ledger, [good, bad])
    assert _entry_count(conn) == 0


def test_text_is_stored_in_nfc_as_in_the_record(conn: Connection, ledger: str) -> None:
    decomposed = "Cafe\u0301"  # "Café" with a combining accent
    admit_entry(
        conn,
        ledger,
        entry="cafe",
        uid="uid-cafe",
        author=decomposed,
        message=decomposed,
        submitted_at="2026-11-25T11:26:32Z",
    )
    stored = entry_by_uid(conn, ledger, "uid-cafe")
    assert stored is not None
    assert stored.author == stored.message == "Caf\u00e9"
    assert "Caf\u00e9".encode() in stored.record


def test_unknown_and_malformed_ledgers_are_clear_errors(
    conn: Connection, make_entries: MakeEntries
) -> None:
    with pytest.raises(UnknownLedgerError, match="no ledger 'default/absent'"):
        admit_entries(conn, "default/absent", make_entries(1))
    with pytest.raises(LedgerNameError, match="<namespace>/<name>"):
        entry_by_uid(conn, "Not A Ledger", "uid-0")


def test_concurrent_admissions_never_share_or_skip_a_sequence_number(
    ledger_dsn: str, ledger: str, make_entries: MakeEntries
) -> None:
    writers, per_writer = 4, 25

    def writer(number: int) -> Session:
        def write(conn: Connection) -> None:
            # Every writer also re-admits the shared entry uid-0.
            shared = make_entries(1)
            for entry in make_entries(per_writer, start=1 + number * per_writer):
                admit_entries(conn, ledger, [entry, *shared])

        return write

    run_together(lambda: open_store(ledger_dsn), *(writer(n) for n in range(writers)))
    check = open_store(ledger_dsn)
    try:
        with check, check.cursor() as cur:
            cur.execute("SELECT seq FROM entries ORDER BY seq")
            assert [s for (s,) in cur.fetchall()] == list(range(writers * per_writer + 1))
    finally:
        check.close()


def test_withdrawing_a_pending_entry_keeps_it_out_of_the_tree(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, make_entries: MakeEntries
) -> None:
    admit_entries(conn, ledger, make_entries(3))
    withdraw_entry(conn, ledger, "uid-1")
    withdraw_entry(conn, ledger, "uid-1")  # idempotent
    result = seal_batch(conn, ledger, signer)
    assert [e.uid for e in result.sealed] == ["uid-0", "uid-2"]
    withdrawn = entry_by_uid(conn, ledger, "uid-1")
    assert withdrawn is not None and withdrawn.state == "withdrawn"


def test_a_sealed_entry_cannot_be_withdrawn(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, make_entries: MakeEntries
) -> None:
    admit_entries(conn, ledger, make_entries(1))
    seal_batch(conn, ledger, signer)
    with pytest.raises(EntryStateError, match="already sealed"):
        withdraw_entry(conn, ledger, "uid-0")
    with pytest.raises(UnknownEntryError, match="no entry with uid 'uid-9'"):
        withdraw_entry(conn, ledger, "uid-9")
