"""Admission and withdrawal of GuestbookEntries, fed by the operator's entry watch.

A new entry is recorded in its ledger's database as pending (idempotent by
uid). It shows phase Pending from the moment it is created without any write:
Pending is the CRD's default for ``status`` (decision 0097), so the API server
fills it in on every read. The operator writes an entry's status only on the
rare paths: its Ledger is missing or not ready (Admitted=False with why), it
is then recorded (Admitted=True), or it can never be recorded (Failed). Those
writes are conditional on the resourceVersion they decided from, so a late
one never overwrites a worker's Sealed status.

Not a Kopf handler (decision 0049): Kopf's per-event machinery cost about
2 ms of CPU per entry and ~1 KB of memory per live entry; here an event
costs a JSON decode and a dictionary lookup unless it starts an admission.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from guestbook_kube.client import CALL_ERRORS, ApiClient, ApiError, Obj
from guestbook_kube.resources import DEFAULT_LEDGER, entries_path, ledgers_path
from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.store.admission import NewEntry, withdraw_entry
from guestbook_ledger.store.errors import (
    EntryConflictError,
    EntryStateError,
    UnknownEntryError,
    UnknownLedgerError,
)

from guestbook_operator import metrics
from guestbook_operator.database import DATABASE_DOWN, Database
from guestbook_operator.entries.batcher import AdmissionBatcher
from guestbook_operator.entry_status_writer import (
    STALE_CODES,
    EntryStatusWrite,
    entry_status_patch,
)
from guestbook_operator.kube import Kube, KubeError
from guestbook_operator.status import (
    admitted_entry_status,
    failed_entry_status,
    rfc3339,
    waiting_for_ledger_status,
)

log = logging.getLogger(__name__)

# How often an entry whose Ledger is missing looks again.
LEDGER_RETRY_SECONDS = 3.0
# Admissions in flight at once; the watch waits (and stops reading) beyond it.
MAX_IN_FLIGHT = 1000
_STATUS_ATTEMPTS = 5
_FINAL = ("Sealed", "Failed")

# A status of ``status.py`` (current status, fields..., generation=, now=) -> new status.
StatusFn = Callable[..., dict[str, Any]]
# (namespace, ledger name) -> whether the Ledger is provisioned (Kopf's index of Ledgers).
ReadyLedgers = Callable[[str, str], bool]


class StatusConflict(RuntimeError):
    """The entry changed at every attempt to write its status."""


def needs_admission(kind: str, status: Mapping[str, Any]) -> bool:
    """Which watch events start an admission.

    A new entry and, in a listing (at start, after the watch expired), every
    entry not yet Sealed or Failed: the operator may have died before
    recording it. A modified entry only when it has no phase at all (its
    status was removed, or the CRD predates the Pending default). Admission
    is idempotent by uid.
    """
    phase = status.get("phase")
    if kind in ("LISTED", "ADDED"):
        return phase not in _FINAL
    return kind == "MODIFIED" and not phase


class ConditionClock:
    """The time conditions carry (whole seconds, RFC 3339), formatted once a
    second: formatting it for every entry was a tenth of admission's CPU."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            moment = datetime.datetime.fromtimestamp(second, datetime.UTC)
            self._second, self._text = second, rfc3339(moment)
        return self._text


class EntryAdmissions:
    """Handles the entry watch's events; use on the event loop that owns ``api``.

    ``kube`` (the synchronous client) and ``executor`` serve the rare paths:
    Warning events and withdrawals. ``nudge(ledger)`` wakes the Ledger's pool
    daemon once an entry is recorded.
    """

    def __init__(
        self,
        *,
        api: ApiClient,
        kube: Kube,
        db: Database,
        batcher: AdmissionBatcher,
        executor: Executor,
        ready: ReadyLedgers,
        nudge: Callable[[str], None],
        clock: ConditionClock,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._api = api
        self._kube = kube
        self._db = db
        self._batcher = batcher
        self._executor = executor
        self._ready = ready
        self._nudge = nudge
        self._clock = clock
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_flight: set[str] = set()  # uids
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, kind: str, entry: Obj) -> None:
        """One watch event. Waits while ``max_in_flight`` admissions run."""
        status = entry.get("status") or {}
        uid = str((entry.get("metadata") or {}).get("uid") or "")
        if kind == "DELETED":
            if status.get("phase") != "Sealed":
                loop = asyncio.get_running_loop()
                self._spawn(loop.run_in_executor(self._executor, self._withdraw, entry))
            return
        if not uid or uid in self._in_flight or not needs_admission(kind, status):
            return
        await self._slots.acquire()
        self._in_flight.add(uid)
        self._spawn(self._admit(entry))

    async def stop(self) -> None:
        """Cancel the admissions in flight (they are idempotent: the next
        active replica's listing takes them up again)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _admit(self, entry: Obj) -> None:
        """Admit ``entry``, waiting and looking again while it cannot be yet.

        Holds one slot while it works; gives it back while it waits.
        """
        meta = entry["metadata"]
        holding = True
        try:
            current: Obj | None = entry
            while current is not None:
                delay = await self._admit_once(current)
                if delay is None:
                    return
                self._slots.release()
                holding = False
                await asyncio.sleep(delay)
                await self._slots.acquire()
                holding = True
                current = await self._fresh(meta)
        finally:
            if holding:
                self._slots.release()
            self._in_flight.discard(str(meta["uid"]))

    async def _fresh(self, meta: Mapping[str, Any]) -> Obj | None:
        """The entry again, or None when it is gone, replaced or final."""
        try:
            fresh = await self._api.get(entries_path(meta["namespace"], meta["name"]))
        except CALL_ERRORS:
            return {"metadata": meta}  # try again with what we had
        if fresh is None or fresh["metadata"]["uid"] != meta["uid"]:
            return None
        if (fresh.get("status") or {}).get("phase") in _FINAL:
            return None
        return fresh

    async def _admit_once(self, entry: Obj) -> float | None:
        """One attempt; returns the seconds to wait before the next, or None when done."""
        if "spec" not in entry:  # a failed re-read: fetch it first
            return 1.0
        meta, spec = entry["metadata"], entry.get("spec") or {}
        namespace, name, uid = str(meta["namespace"]), str(meta["name"]), str(meta["uid"])
        ledger = str(spec.get("ledger") or DEFAULT_LEDGER)
        ref = f"{namespace}/{ledger}"
        where = {"namespace": namespace, "ledger": ledger}
        try:
            # Kopf's index is the quick answer; it is empty until Kopf has listed
            # the Ledgers, so "not ready" is confirmed with the API before saying so.
            if (
                not self._ready(namespace, ledger)
                and await self._api.get(ledgers_path(namespace, ledger)) is None
            ):
                await self._write_status(entry, waiting_for_ledger_status, **where)
                return LEDGER_RETRY_SECONDS
            if (entry.get("status") or {}).get("conditions"):
                # Only an entry that was shown waiting for its Ledger has a status
                # to correct; a new one shows the CRD's default Pending (0097).
                await self._write_status(entry, admitted_entry_status, **where)
            admission = await self._batcher.admit(
                ref,
                NewEntry(
                    entry=name,
                    uid=uid,
                    author=str(spec.get("author") or ""),
                    message=str(spec.get("message") or ""),
                    submitted_at=str(meta["creationTimestamp"]),
                ),
            )
        except (*CALL_ERRORS, StatusConflict) as exc:
            log.warning("could not write the status of %s/%s, retrying: %s", namespace, name, exc)
            return 1.0
        except UnknownLedgerError:
            # The Ledger exists but its database rows do not (being provisioned).
            try:
                await self._write_status(entry, waiting_for_ledger_status, **where, exists=True)
            except (*CALL_ERRORS, StatusConflict):
                pass
            return 1.0
        except DATABASE_DOWN as exc:
            log.warning("the ledger database is unavailable, retrying: %s", exc)
            return 2.0
        except (RecordError, EntryConflictError) as exc:
            # Final: the store refuses this entry whatever happens, so it is never
            # retried (listings and repair skip Failed entries).
            return await self._fail(entry, f"The entry cannot be recorded: {exc}")
        if admission.admitted_now:
            metrics.ENTRIES_ADMITTED.labels(ledger=ref).inc()
        self._nudge(ref)
        log.debug("%s/%s admitted to %s as number %d", namespace, name, ref, admission.seq)
        return None

    async def _fail(self, entry: Obj, message: str) -> float | None:
        """Show the entry as Failed (final), with a Warning event saying why."""
        reason = "InvalidEntry"
        try:
            await self._write_status(entry, failed_entry_status, reason=reason, message=message)
            await asyncio.get_running_loop().run_in_executor(
                self._executor,
                lambda: self._kube.post_event(
                    entry, type="Warning", reason=reason, message=message
                ),
            )
        except (*CALL_ERRORS, StatusConflict, KubeError) as exc:
            log.warning("could not mark the entry Failed, retrying: %s", exc)
            return 1.0
        return None

    async def _write_status(self, entry: Obj, compute: StatusFn, **fields: Any) -> None:
        """Write ``compute(current status, **fields, generation=, now=)`` unless the
        entry is final meanwhile.

        The one entry-status write rule (decision 0148): a JSON patch that
        tests the uid and the resourceVersion it decided from, then sets the
        whole status. When a test fails (422; 409 from an older server) the
        entry is read again and the decision made again. Raises StatusConflict
        when it kept changing, or a guestbook_kube.client error.
        """
        meta = entry["metadata"]
        path = entries_path(meta["namespace"], meta["name"]) + "/status"
        current: Obj | None = entry
        for _attempt in range(_STATUS_ATTEMPTS):
            if current is None or current["metadata"]["uid"] != meta["uid"]:
                return  # deleted, or replaced by a namesake
            status = current.get("status") or {}
            if status.get("phase") in _FINAL:
                return
            generation = int(current["metadata"].get("generation") or 1)
            wanted = compute(status, **fields, generation=generation, now=self._clock.now())
            if all(status.get(key) == value for key, value in wanted.items()):
                return
            write = EntryStatusWrite(
                meta["namespace"],
                meta["name"],
                meta["uid"],
                wanted,
                resource_version=current["metadata"]["resourceVersion"],
            )
            try:
                await self._api.json_patch(path, entry_status_patch(write))
                return  # written, or the entry is gone (None)
            except ApiError as exc:
                if exc.code not in STALE_CODES:
                    raise
            current = await self._api.get(path.removesuffix("/status"))
        raise StatusConflict("the entry kept changing while its status was written")

    def _withdraw(self, entry: Obj) -> None:
        """A pending entry deleted before sealing is withdrawn; a sealed one stays.

        Runs in a thread. A deletion missed here (database down, operator
        down) is caught by the repair loop.
        """
        meta, spec = entry.get("metadata") or {}, entry.get("spec") or {}
        ref = f"{meta.get('namespace')}/{spec.get('ledger') or DEFAULT_LEDGER}"
        name = meta.get("name")
        try:
            with self._db.connection() as conn:
                withdraw_entry(conn, ref, str(meta.get("uid")))
        except (UnknownEntryError, UnknownLedgerError):
            return  # never admitted
        except DATABASE_DOWN as exc:
            log.warning("could not withdraw %s now (database unavailable): %s", name, exc)
            return
        except EntryStateError:
            log.info("%s was deleted after it was sealed; it stays in ledger %s", name, ref)
            return
        log.info("%s withdrawn from ledger %s before sealing", name, ref)
