"""Level-triggered repair: whatever the database knows and the resources do not
show gets written, on a timer, for every Ledger.

- an entry sealed in the database but not Sealed in its status (a worker died
  between the seal and the status write, a patch was lost): status written;
- an entry whose resource exists but the database never admitted (the
  operator died mid-admission): admitted;
- a pending entry whose resource is gone (deleted while the operator was
  down): withdrawn;
- a sealed entry past ``spec.retention.sealedEntrySeconds``: its resource is
  deleted (the ledger keeps it).
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import kopf
from guestbook_kube.resources import DEFAULT_LEDGER
from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.store.admission import admit_entry, withdraw_entry
from guestbook_ledger.store.backlog import pending_entries
from guestbook_ledger.store.entries import entry_by_uid
from guestbook_ledger.store.errors import (
    EntryConflictError,
    EntryStateError,
    StoreError,
    UnknownEntryError,
)
from guestbook_ledger.store.heads import first_head_containing

from guestbook_operator import metrics
from guestbook_operator.config import load_timer_intervals
from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.kube import EntryStatusWrite, KubeError
from guestbook_operator.manifests import ledger_ref
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import Runtime, runtime
from guestbook_operator.status import entry_sealed_into, rfc3339

# A failed pass is logged and the next one tries again.
_PASS_ERRORS: tuple[type[Exception], ...] = (StoreError, KubeError, *DATABASE_DOWN)

# Kopf takes a timer's interval when the handler is registered (the same
# variable as ``rt.config.timers``, which load_config validated before).
REPAIR_INTERVAL_SECONDS = load_timer_intervals().repair_seconds
_PENDING_SCAN = 10_000


def _parse_time(text: str) -> float | None:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def repair_ledger(rt: Runtime, ledger: dict[str, Any]) -> dict[str, int]:
    """One repair pass over a provisioned Ledger; returns counts of what it did."""
    meta, spec = ledger["metadata"], ledger.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    ref = ledger_ref(ledger)
    retention = (spec.get("retention") or {}).get("sealedEntrySeconds")
    done = {"statuses": 0, "admitted": 0, "withdrawn": 0, "retired": 0}
    listed_at = time.time()
    seen: set[str] = set()
    sealed_writes: list[EntryStatusWrite] = []
    now = rfc3339(datetime.datetime.now(datetime.UTC))
    with rt.db.connection() as conn:
        for entry in rt.kube.entries(namespace):
            entry_spec = entry.get("spec") or {}
            if (entry_spec.get("ledger") or DEFAULT_LEDGER) != name:
                continue
            emeta = entry["metadata"]
            uid = emeta["uid"]
            seen.add(uid)
            status = entry.get("status") or {}
            phase = status.get("phase")
            if phase == "Failed":
                continue
            if phase == "Sealed":
                sealed_at = _parse_time(str(status.get("sealedAt", "")))
                if retention is None or sealed_at is None or listed_at - sealed_at < retention:
                    continue
                stored = entry_by_uid(conn, ref, uid)
                if stored is not None and stored.state == "sealed":
                    rt.kube.delete_entry(namespace, emeta["name"], uid)
                    done["retired"] += 1
                continue
            # Entries younger than two passes are in flight (admission, a worker's
            # batch): leave them be.
            created = _parse_time(str(emeta.get("creationTimestamp", "")))
            if created is None or listed_at - created < 2 * rt.config.timers.repair_seconds:
                continue
            stored = entry_by_uid(conn, ref, uid)
            if stored is None:
                try:
                    admit_entry(
                        conn,
                        ref,
                        entry=emeta["name"],
                        uid=uid,
                        author=str(entry_spec.get("author") or ""),
                        message=str(entry_spec.get("message") or ""),
                        submitted_at=str(emeta["creationTimestamp"]),
                    )
                except (RecordError, EntryConflictError):
                    continue  # the admission handler reports these on the entry
                done["admitted"] += 1
            elif stored.state == "sealed" and stored.leaf_index is not None and stored.leaf_hash:
                head = first_head_containing(conn, ref, stored.leaf_index)
                if head is None:
                    continue
                sealed_writes.append(
                    EntryStatusWrite(
                        namespace,
                        emeta["name"],
                        uid,
                        entry_sealed_into(
                            status,
                            leaf_index=stored.leaf_index,
                            leaf_hash=stored.leaf_hash,
                            head=head,
                            generation=int(emeta.get("generation") or 1),
                            now=now,
                        ),
                    )
                )
        for pending in pending_entries(conn, ref, limit=_PENDING_SCAN):
            # Admitted before the listing began, yet not listed: the resource is gone.
            if pending.uid not in seen and pending.age_seconds > time.time() - listed_at + 1.0:
                try:
                    withdraw_entry(conn, ref, pending.uid)
                except (UnknownEntryError, EntryStateError):
                    continue
                done["withdrawn"] += 1
    failed = rt.kube.write_entry_statuses(sealed_writes)
    done["statuses"] = len(sealed_writes) - len(failed)
    if done["statuses"]:
        metrics.STATUS_REPAIRS.labels(ledger=ref).inc(done["statuses"])
    return done


@kopf.timer(*LEDGERS, interval=REPAIR_INTERVAL_SECONDS, initial_delay=REPAIR_INTERVAL_SECONDS)
def repair(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    ledger = plain(body)
    if not (ledger.get("status") or {}).get("keyId"):
        return
    rt = runtime(memo)
    try:
        done = repair_ledger(rt, ledger)
    except _PASS_ERRORS as exc:
        next_in = rt.config.timers.repair_seconds
        logger.warning("repair pass failed, next one in %.0fs: %s", next_in, exc)
        return
    if any(done.values()):
        message = ", ".join(f"{count} {what}" for what, count in done.items() if count)
        rt.kube.post_event(ledger, type="Normal", reason="Repaired", message=message)
        logger.info("repair pass: %s", message)
    if done["admitted"]:
        rt.nudges.nudge(ledger_ref(ledger))
