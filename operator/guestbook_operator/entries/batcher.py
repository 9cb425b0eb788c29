"""Admissions grouped into one database transaction per ledger and moment.

Admission takes the ledger's sequencer lock and commits; with durable commits
each one costs an fsync, so one-by-one admission tops out at a few hundred
entries per second per ledger. Handlers hand their entry to the batcher and
await its result; the batcher admits whatever has gathered (up to
``max_batch``) in one ``admit_entries`` call. An entry the store refuses is
found by admitting that batch one entry at a time, so it fails alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import defaultdict
from collections.abc import Callable

from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.store.admission import Admission, NewEntry, admit_entries
from guestbook_ledger.store.errors import EntryConflictError

from guestbook_operator.database import Database

Outcome = Admission | BaseException


def admit_batch(db: Database, ledger: str, entries: list[NewEntry]) -> list[Outcome]:
    """Admit ``entries`` to ``ledger``; one outcome (Admission or error) per entry.

    Errors that concern the whole batch (database down, unknown ledger) are
    the outcome of every entry.
    """
    try:
        with db.connection() as conn:
            try:
                return list(admit_entries(conn, ledger, entries))
            except (RecordError, EntryConflictError):
                pass  # find the culprit below: the others must not fail with it
            outcomes: list[Outcome] = []
            for entry in entries:
                try:
                    outcomes.extend(admit_entries(conn, ledger, [entry]))
                except (RecordError, EntryConflictError) as exc:
                    outcomes.append(exc)
            return outcomes
    except Exception as exc:
        return [exc] * len(entries)


class AdmissionBatcher:
    """Gathers admissions per ledger; call ``admit`` from the event loop."""

    def __init__(
        self,
        db: Database,
        executor: concurrent.futures.Executor,
        *,
        max_batch: int = 500,
        gather_seconds: float = 0.01,
        admit: Callable[[Database, str, list[NewEntry]], list[Outcome]] = admit_batch,
    ) -> None:
        self._db = db
        self._executor = executor
        self._max_batch = max_batch
        self._gather_seconds = gather_seconds
        self._admit = admit
        self._waiting: dict[str, list[tuple[NewEntry, asyncio.Future[Admission]]]] = defaultdict(
            list
        )
        self._flushing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()  # strong references while running

    def _start_flush(self, ledger: str) -> None:
        self._flushing.add(ledger)
        task = asyncio.get_running_loop().create_task(self._flush(ledger))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def admit(self, ledger: str, entry: NewEntry) -> Admission:
        """Admit ``entry``; raises what the store raised for it."""
        future: asyncio.Future[Admission] = asyncio.get_running_loop().create_future()
        self._waiting[ledger].append((entry, future))
        if ledger not in self._flushing:
            self._start_flush(ledger)
        return await future

    async def _flush(self, ledger: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting[ledger]:
                await asyncio.sleep(self._gather_seconds)
                batch = self._waiting[ledger][: self._max_batch]
                del self._waiting[ledger][: len(batch)]
                outcomes = await loop.run_in_executor(
                    self._executor, self._admit, self._db, ledger, [e for e, _ in batch]
                )
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue  # the handler was cancelled
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._flushing.discard(ledger)
            if self._waiting[ledger]:  # arrived while the last batch was committing
                self._start_flush(ledger)
