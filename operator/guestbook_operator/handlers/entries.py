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
from guestbook_operator.kube import EntryStatusWrite, KubeError
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
    raise kopf.TemporaryError("the entry kept changing while its status was written", delay=1)


@kopf.on.resume(*ENTRIES)
@kopf.on.create(*ENTRIES)
async def admit(
    body: kopf.Body,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    namespace: str | None,
    name: str,
    uid: str,
    memo: Any,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    if status.get("phase") in ("Sealed", "Failed"):
        return
    namespace = str(namespace)
    ready_ledgers: kopf.Index[tuple[str, str], bool] = kwargs["ready_ledgers"]
    rt = runtime(memo)
    entry = dict(body)
    ledger = str(spec.get("ledger") or "guestbook")
    ref = f"{namespace}/{ledger}"
    generation = int(meta.get("generation") or 1)

    def waiting(current: Mapping[str, Any] | None) -> dict[str, Any]:
        return waiting_for_ledger_status(
            current, namespace=namespace, ledger=ledger, generation=generation, now=_now()
        )

    def admitted(current: Mapping[str, Any] | None) -> dict[str, Any]:
        return admitted_entry_status(
            current, namespace=namespace, ledger=ledger, generation=generation, now=_now()
        )

    loop = asyncio.get_running_loop()

    async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
        return await loop.run_in_executor(rt.executor, function, *args)

    try:
        if not any(ready_ledgers.get((namespace, ledger), ())):
            await in_thread(write_entry_status, rt, entry, waiting)
            raise kopf.TemporaryError(
                f"Ledger {ref} does not exist yet", delay=LEDGER_RETRY_SECONDS
            )
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
    except KubeError as exc:
        # Kopf would wait a minute for an unexpected error; the API is usually back sooner.
        raise kopf.TemporaryError(str(exc), delay=1) from None
    except UnknownLedgerError:
        await in_thread(write_entry_status, rt, entry, waiting)
        raise kopf.TemporaryError(f"Ledger {ref} is not provisioned yet", delay=1) from None
    except DATABASE_DOWN as exc:
        raise kopf.TemporaryError(f"the ledger database is unavailable: {exc}", delay=2) from None
    except (RecordError, EntryConflictError) as exc:
        message = f"The entry cannot be recorded: {exc}"
        await in_thread(_fail, rt, entry, "InvalidEntry", message, generation)
        return
    if admission.admitted_now:
        metrics.ENTRIES_ADMITTED.labels(ledger=ref).inc()
    rt.nudge(ref)
    logger.debug("admitted to %s with sequence number %d", ref, admission.seq)


def _fail(
    rt: Runtime, entry: Mapping[str, Any], reason: str, message: str, generation: int
) -> None:
    meta = entry["metadata"]
    status = failed_entry_status(
        entry.get("status"), reason=reason, message=message, generation=generation, now=_now()
    )
    rt.kube.write_entry_statuses(
        [EntryStatusWrite(meta["namespace"], meta["name"], meta["uid"], status)]
    )
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
