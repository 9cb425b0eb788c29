"""The worker a Ledger's Job runs: claim, hash, seal, then publish the results.

Each pod loops: claim a batch of pending entries and store their leaf hashes
(parallel across pods: ``FOR UPDATE SKIP LOCKED``), seal what is pending in
sequence order under the ledger's lock and sign the new tree head (serial per
ledger: one database transaction), then write every sealed entry's status and
the Ledger's status; then its witnesses are asked to cosign the new checkpoint
on a thread of their own (`witnessing`), which never holds up sealing. The
database is the truth; a crash between the seal and the status writes is
repaired by the operator. A pod exits 0 once it has found
no work for ``idle_seconds``, which is how the pool shrinks.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.names import parse_ledger_name
from guestbook_ledger.store.schema import Connection
from guestbook_ledger.store.sealing import SealResult, claim_pending, seal_batch

from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.entry_status_writer import EntryStatusWrite
from guestbook_operator.kube import Kube
from guestbook_operator.status import entry_sealed_into, rfc3339, tree_head_status
from guestbook_operator.witnessing import WitnessingThread, report_witnesses

log = logging.getLogger("guestbook.worker")

# How often an idle worker looks for new entries.
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class WorkerSettings:
    """``ledger`` is ``NAMESPACE/NAME``; the rest comes from the Ledger's spec."""

    ledger: str
    batch_size: int = 1000
    max_wait_seconds: float = 0.2
    idle_seconds: float = 10.0
    outage_seconds: float = 60.0


@dataclass
class WorkerStats:
    batches: int = 0
    sealed: int = 0


def entry_status_writes(namespace: str, result: SealResult, now: str) -> list[EntryStatusWrite]:
    """The status of every entry ``result`` sealed (pure; spec is immutable: generation 1)."""
    return [
        EntryStatusWrite(
            namespace=namespace,
            name=entry.entry_name,
            uid=entry.uid,
            status=entry_sealed_into(
                None,
                leaf_index=entry.leaf_index,
                leaf_hash=entry.leaf_hash,
                head=result.tree_head,
                generation=1,
                now=now,
            ),
        )
        for entry in result.sealed
    ]


def ledger_tree_status(result: SealResult) -> dict[str, object]:
    """The part of a Ledger's status a worker owns: its latest tree head (a
    checkpoint, shown as the signed note in ``status.checkpoint``)."""
    return tree_head_status(result.tree_head.to_dict())


def run_worker(
    connect: Callable[[], Connection],
    kube: Kube,
    signer: Ed25519PrivateKey,
    settings: WorkerSettings,
    *,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> WorkerStats:
    """Work until idle for ``settings.idle_seconds`` or until ``stop`` is set.

    Preconditions: the ledger exists in the database and ``signer``'s public
    key is registered for it (the operator does both). A database outage is
    waited out (reconnecting every second) for ``settings.outage_seconds``;
    then, as for every other store error, the exception propagates: the pod
    fails and the Job retries it.
    """
    namespace, name = parse_ledger_name(settings.ledger)
    stats = WorkerStats()
    last_work = clock()
    conn: Connection | None = None
    outage_since: float | None = None
    witnessing = WitnessingThread(
        connect, settings.ledger, lambda outcomes: report_witnesses(kube, namespace, name, outcomes)
    )
    witnessing.nudge()  # witnesses that missed a checkpoint catch up
    try:
        while not stop.is_set():
            try:
                if conn is None:
                    conn = connect()
                worked = _round(conn, kube, signer, settings, stop, clock, stats, namespace, name)
                if worked:
                    witnessing.nudge()
                outage_since = None
            except DATABASE_DOWN as exc:
                if conn is not None:
                    conn.close()
                    conn = None
                outage_since = clock() if outage_since is None else outage_since
                if clock() - outage_since > settings.outage_seconds:
                    raise
                log.warning("ledger database unavailable, retrying: %s", exc)
                stop.wait(1.0)
                last_work = clock()  # an outage is not idleness
                continue
            if worked:
                last_work = clock()
                continue
            if clock() - last_work >= settings.idle_seconds:
                log.info("no pending entries for %.1fs; exiting", settings.idle_seconds)
                break
            stop.wait(POLL_SECONDS)
    finally:
        if conn is not None:
            conn.close()
        witnessing.close()
    return stats


def _round(
    conn: Connection,
    kube: Kube,
    signer: Ed25519PrivateKey,
    settings: WorkerSettings,
    stop: threading.Event,
    clock: Callable[[], float],
    stats: WorkerStats,
    namespace: str,
    name: str,
) -> bool:
    """Claim, seal, publish once; True when there was work."""
    claimed = len(claim_pending(conn, settings.ledger, limit=settings.batch_size))
    # Let a batch fill up a little at low load: fewer tree heads, fewer writes.
    deadline = clock() + settings.max_wait_seconds
    while 0 < claimed < settings.batch_size and clock() < deadline and not stop.is_set():
        stop.wait(min(0.05, settings.max_wait_seconds))
        more = claim_pending(conn, settings.ledger, limit=settings.batch_size - claimed)
        claimed += len(more)
    result = seal_batch(conn, settings.ledger, signer, max_entries=settings.batch_size)
    if result.sealed:
        publish(kube, namespace, name, result, stats)
    return bool(claimed or result.sealed)


def publish(kube: Kube, namespace: str, name: str, result: SealResult, stats: WorkerStats) -> None:
    """Write a sealed batch into the entries' and the Ledger's status."""
    now = rfc3339(datetime.datetime.now(datetime.UTC))
    failed = kube.write_entry_statuses(entry_status_writes(namespace, result, now))
    try:
        kube.patch_ledger_status(namespace, name, ledger_tree_status(result))
    except Exception as exc:  # the operator's repair loop writes it later
        log.warning("could not update the Ledger's status: %s", exc)
    stats.batches += 1
    stats.sealed += len(result.sealed)
    log.info(
        "sealed %d entries; tree size %d, root %s",
        len(result.sealed),
        result.tree_head.tree_size,
        result.tree_head.root_hash.hex(),
    )
    if failed:
        log.warning("could not write the status of %d entries: %s", len(failed), failed[:10])
