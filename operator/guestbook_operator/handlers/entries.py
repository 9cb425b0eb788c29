"""GuestbookEntry admission and withdrawal.

A new entry is recorded in its ledger's database as pending (idempotent by
uid) and shows phase Pending. Its status is written *before* the database
row: once the row exists a worker may seal it at any moment, and its Sealed
status must never be overwritten by a late Pending.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Mapping
from typing import Any

import kopf
from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.store.admission import NewEntry, withdraw_entry
from guestbook_ledger.store.errors import (
    EntryConflictError,
    EntryStateError,
    UnknownEntryError,
    UnknownLedgerError,
)

from guestbook_operator import metrics
from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.kube import KubeError
from guestbook_operator.manifests import GROUP, VERSION
from guestbook_operator.resources import ENTRIES
from guestbook_operator.runtime import Runtime, runtime
from guestbook_operator.status import (
    admitted_entry_status,
    failed_entry_status,
    find_condition,
    rfc3339,
    waiting_for_ledger_status,
)

# How often an entry whose Ledger is missing looks again.
LEDGER_RETRY_SECONDS = 3.0
_STATUS_ATTEMPTS = 5


class StatusConflict(RuntimeError):
    """The entry changed at every attempt to write its status."""


StatusFn = Callable[[Mapping[str, Any] | None], dict[str, Any]]


@kopf.index(GROUP, VERSION, "ledgers")
def ready_ledgers(namespace: str | None, name: str, status: kopf.Status, **_: Any) -> Any:
    """Ledgers by (namespace, name): True once provisioned (Ready)."""
    ready = find_condition(status.get("conditions"), "Ready")
    return {(namespace, name): bool(ready and ready.get("status") == "True")}


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


def write_entry_status(rt: Runtime, entry: Mapping[str, Any], compute: StatusFn) -> None:
    """Write ``compute(current status)`` unless the entry is sealed meanwhile.

    Optimistic: the patch carries the entry's resourceVersion; on a conflict
    the entry is read again and the decision made again.
    """
    meta = entry["metadata"]
    current: Mapping[str, Any] | None = entry
    for _attempt in range(_STATUS_ATTEMPTS):
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return  # deleted, or replaced by a namesake
        status = current.get("status") or {}
        if status.get("phase") in ("Sealed", "Failed"):
            return
        wanted = compute(status)
        if all(status.get(key) == value for key, value in wanted.items()):
            return
        if rt.kube.patch_entry_status_if_unchanged(current, wanted):
            return
        current = rt.kube.get_entry(meta["namespace"], meta["name"])
    raise StatusConflict("the entry kept changing while its status was written")


def _needs_admission(type: str | None, status: Mapping[str, Any]) -> bool:
    """Which watch events start an admission.

    A new entry (no phase yet) always; at startup (the initial listing, type
    None) also every entry not yet Sealed or Failed, since the operator may have
    died between writing Pending and recording the entry. Admission is
    idempotent by uid.
    """
    phase = status.get("phase")
    if type is None:
        return phase not in ("Sealed", "Failed")
    return type in ("ADDED", "MODIFIED") and not phase


@kopf.on.event(*ENTRIES, when=lambda type, status, **_: _needs_admission(type, status))
async def admit(body: kopf.Body, memo: Any, logger: kopf.Logger, **kwargs: Any) -> None:
    """Record a new entry in its ledger's database as pending; show phase Pending.

    A watch-event handler, not a create handler: Kopf then keeps no progress
    annotations on entries (a write and an event less per entry). Retries are
    ours: while the Ledger is missing or the database is down, the entry is
    read again and admitted after a pause.
    """
    rt = runtime(memo)
    ready_ledgers: kopf.Index[tuple[str, str], bool] = kwargs["ready_ledgers"]
    entry: dict[str, Any] | None = dict(body)
    loop = asyncio.get_running_loop()
    while entry is not None:
        delay = await _admit_once(rt, entry, ready_ledgers, logger)
        if delay is None:
            return
        await asyncio.sleep(delay)
        meta = entry["metadata"]
        fresh = await loop.run_in_executor(
            rt.executor, rt.kube.get_entry, meta["namespace"], meta["name"]
        )
        if fresh is None or fresh["metadata"]["uid"] != meta["uid"]:
            return  # deleted meanwhile
        if (fresh.get("status") or {}).get("phase") in ("Sealed", "Failed"):
            return
        entry = fresh


async def _admit_once(
    rt: Runtime,
    entry: dict[str, Any],
    ready_ledgers: kopf.Index[tuple[str, str], bool],
    logger: kopf.Logger,
) -> float | None:
    """One attempt; returns the seconds to wait before the next, or None when done."""
    meta, spec = entry["metadata"], entry.get("spec") or {}
    namespace, name, uid = str(meta["namespace"]), str(meta["name"]), str(meta["uid"])
    ledger = str(spec.get("ledger") or "guestbook")
    ref = f"{namespace}/{ledger}"
    generation = int(meta.get("generation") or 1)
    loop = asyncio.get_running_loop()

    def waiting(current: Mapping[str, Any] | None) -> dict[str, Any]:
        return waiting_for_ledger_status(
            current, namespace=namespace, ledger=ledger, generation=generation, now=_now()
        )

    def admitted(current: Mapping[str, Any] | None) -> dict[str, Any]:
        return admitted_entry_status(
            current, namespace=namespace, ledger=ledger, generation=generation, now=_now()
        )

    async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
        return await loop.run_in_executor(rt.executor, function, *args)

    try:
        if not any(ready_ledgers.get((namespace, ledger), ())):
            await in_thread(write_entry_status, rt, entry, waiting)
            return LEDGER_RETRY_SECONDS
        await in_thread(write_entry_status, rt, entry, admitted)
        admission = await rt.batcher.admit(
            ref,
            NewEntry(
                entry=name,
                uid=uid,
                author=str(spec.get("author") or ""),
                message=str(spec.get("message") or ""),
                submitted_at=str(meta["creationTimestamp"]),
            ),
        )
    except (KubeError, StatusConflict) as exc:
        logger.warning("could not write the status, retrying: %s", exc)
        return 1.0
    except UnknownLedgerError:
        await in_thread(write_entry_status, rt, entry, waiting)
        return 1.0
    except DATABASE_DOWN as exc:
        logger.warning("the ledger database is unavailable, retrying: %s", exc)
        return 2.0
    except (RecordError, EntryConflictError) as exc:
        # Final: the store refuses this entry whatever happens, so it is never
        # retried (startup and repair skip Failed entries).
        message = f"The entry cannot be recorded: {exc}"
        try:
            await in_thread(_fail, rt, entry, "InvalidEntry", message, generation)
        except (KubeError, StatusConflict) as write_error:
            logger.warning("could not mark the entry Failed, retrying: %s", write_error)
            return 1.0
        return None
    if admission.admitted_now:
        metrics.ENTRIES_ADMITTED.labels(ledger=ref).inc()
    rt.nudge(ref)
    logger.debug("admitted to %s with sequence number %d", ref, admission.seq)
    return None


def _fail(
    rt: Runtime, entry: Mapping[str, Any], reason: str, message: str, generation: int
) -> None:
    """Show the entry as Failed (final) with ``message`` on its conditions, and
    post a Warning event saying the same. A Sealed entry is left alone.

    Raises KubeError or StatusConflict when the status cannot be written.
    """

    def failed(current: Mapping[str, Any] | None) -> dict[str, Any]:
        return failed_entry_status(
            current, reason=reason, message=message, generation=generation, now=_now()
        )

    write_entry_status(rt, entry, failed)
    rt.kube.post_event(entry, type="Warning", reason=reason, message=message)


@kopf.on.event(*ENTRIES, when=lambda type, **_: type == "DELETED")
def withdraw(
    spec: kopf.Spec,
    status: kopf.Status,
    namespace: str | None,
    uid: str,
    memo: Any,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    """A pending entry deleted before sealing is withdrawn; a sealed one stays.

    A deletion the operator misses (it was down) is caught by the repair loop.
    """
    if status.get("phase") == "Sealed":
        return
    ref = f"{namespace}/{spec.get('ledger') or 'guestbook'}"
    try:
        with runtime(memo).db.connection() as conn:
            withdraw_entry(conn, ref, uid)
    except (UnknownEntryError, UnknownLedgerError):
        return  # never admitted
    except DATABASE_DOWN as exc:
        # The repair loop withdraws it later: its resource is gone for good.
        logger.warning("could not withdraw now (database unavailable): %s", exc)
        return
    except EntryStateError:
        logger.info("deleted after it was sealed; it stays in ledger %s", ref)
        return
    logger.info("withdrawn from ledger %s before sealing", ref)
