"""Admissions gathered into few transactions, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import concurrent.futures

from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.format.sth import generate_private_key
from guestbook_ledger.store.admission import NewEntry
from guestbook_ledger.store.entries import entry_by_uid
from guestbook_ledger.store.errors import UnknownLedgerError
from guestbook_ledger.store.ledgers import ensure_ledger
from guestbook_ledger.store.schema import connect
from guestbook_operator.database import Database
from guestbook_operator.entries.batcher import AdmissionBatcher, Outcome, admit_batch

LEDGER = "default/guestbook"


def new_entry(i: int, message: str | None = None) -> NewEntry:
    return NewEntry(
        entry=f"e-{i}",
        uid=f"uid-{i}",
        author="Ada",
        message=message if message is not None else f"message {i}",
        submitted_at="2026-11-25T11:00:00Z",
    )


async def admit_all(db: Database, entries: list[NewEntry]) -> tuple[list[Outcome], list[int]]:
    batches: list[int] = []

    def counting(db: Database, ledger: str, batch: list[NewEntry]) -> list[Outcome]:
        batches.append(len(batch))
        return admit_batch(db, ledger, batch)

    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        batcher = AdmissionBatcher(db, executor, admit=counting)
        outcomes = await asyncio.gather(
            *(batcher.admit(LEDGER, e) for e in entries), return_exceptions=True
        )
    return list(outcomes), batches


async def test_concurrent_admissions_share_transactions(ledger_dsn: str) -> None:
    conn = connect(ledger_dsn)
    ensure_ledger(conn, LEDGER, public_key=generate_private_key().public_key())
    db = Database(ledger_dsn)
    entries = [new_entry(i) for i in range(200)]
    entries[57] = new_entry(57, message="bad \x00 byte")
    try:
        outcomes, batches = await admit_all(db, entries)
        assert isinstance(outcomes[57], RecordError)
        good = [o for i, o in enumerate(outcomes) if i != 57]
        assert all(not isinstance(o, BaseException) and o.admitted_now for o in good)
        # Sequence numbers are gapless, in the order the entries were handed over.
        assert [o.seq for o in good if not isinstance(o, BaseException)] == list(range(199))
        assert len(batches) < 20, batches
        assert entry_by_uid(conn, LEDGER, "uid-57") is None
        # Admitting again changes nothing (idempotent by uid).
        again, _ = await admit_all(db, entries[:3])
        assert [o.seq for o in again if not isinstance(o, BaseException)] == [0, 1, 2]
        assert not any(isinstance(o, BaseException) or o.admitted_now for o in again)
    finally:
        db.close()
        conn.close()


async def test_batch_wide_errors_reach_every_entry(ledger_dsn: str) -> None:
    db = Database(ledger_dsn)
    try:
        outcomes, _ = await admit_all(db, [new_entry(i) for i in range(3)])
    finally:
        db.close()
    assert all(isinstance(o, UnknownLedgerError) for o in outcomes)
