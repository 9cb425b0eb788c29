"""Per Ledger, a daemon that keeps the worker pool sized to the backlog and the
Ledger's status true to the database.

Level-triggered: every round reads the backlog and the latest tree head from
the database and the worker Jobs from the API, decides with the pure policy,
acts, and writes the status only when it changed. Admissions wake it early.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Mapping
from typing import Any

import kopf
from guestbook_ledger.format.checkpoint import TreeHead
from guestbook_ledger.store.backlog import pending_count, seal_latencies
from guestbook_ledger.store.errors import StoreError, UnknownLedgerError
from guestbook_ledger.store.heads import latest_tree_head
from guestbook_ledger.store.schema import Connection
from guestbook_ledger.store.witnesses import published_checkpoint

from guestbook_operator import metrics
from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.entries.controller import entry_controller
from guestbook_operator.kube import KubeError
from guestbook_operator.manifests import ROLE_WORKER, ledger_ref, role_selector, worker_job
from guestbook_operator.policy import (
    PoolAction,
    WorkerJob,
    active_workers,
    desired_workers,
    plan_worker_job,
)
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import Runtime, runtime
from guestbook_operator.status import (
    DATABASE_UNAVAILABLE,
    ConditionChange,
    blocked_by_provisioning,
    find_condition,
    ledger_not_ready_status,
    ledger_status,
    rfc3339,
    witnessed_condition,
)

# A failed pass is logged and the next one tries again.
_PASS_ERRORS: tuple[type[Exception], ...] = (StoreError, KubeError, *DATABASE_DOWN)

# Rounds start at most this often, however often admissions wake the daemon.
MIN_ROUND_SECONDS = 0.25
# Most leaves whose seal latency one round reads for the histogram.
_LATENCY_SAMPLE = 1000


def worker_jobs(jobs: list[dict[str, Any]]) -> list[WorkerJob]:
    """What the policy needs of each Job, from Jobs as the API returns them."""
    found = []
    for job in jobs:
        status = job.get("status") or {}
        finished = any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or ()
        )
        found.append(
            WorkerJob(
                name=job["metadata"]["name"],
                parallelism=int((job.get("spec") or {}).get("parallelism") or 0),
                active=int(status.get("active") or 0),
                succeeded=int(status.get("succeeded") or 0),
                finished=finished,
            )
        )
    return found


def _failed(job: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Failed" and c.get("status") == "True"
        for c in (job.get("status") or {}).get("conditions") or ()
    )


def _age_seconds(timestamp: str) -> float:
    try:
        signed = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, datetime.datetime.now(datetime.UTC).timestamp() - signed.timestamp())


def witnessing_status(
    conn: Connection, ref: str, ledger: dict[str, Any], head: TreeHead | None
) -> tuple[ConditionChange | None, int | None]:
    """The Witnessed condition and the size /checkpoint publishes. One database
    query, and only for a Ledger whose witnesses must cosign (quorum above 0)."""
    spec, status = ledger.get("spec") or {}, ledger.get("status") or {}
    names = [str(w.get("name")) for w in spec.get("witnesses") or ()]
    quorum = int(spec.get("witnessQuorum") or 0)
    if head is None:
        return None, None
    published_size: int | None = head.tree_size
    if names and quorum > 0:
        published = published_checkpoint(conn, ref)
        published_size = published.checkpoint.tree_size if published else None
    condition = witnessed_condition(
        witnesses=names,
        quorum=quorum,
        tree_size=head.tree_size,
        published_tree_size=published_size,
        checkpoint_age_seconds=_age_seconds(str(head.timestamp)),
        reports=status.get("witnesses"),
    )
    return condition, published_size


def reconcile_pool(rt: Runtime, memo: Any, ledger: dict[str, Any]) -> None:
    """One round for one Ledger. ``memo`` is Kopf's memo of this Ledger, kept
    between rounds and daemon restarts: its last tree size (for the
    sealed-entries metrics) and the worker Jobs already reported failed (each
    counted once). Raises StoreError or KubeError on failures."""
    status = ledger.get("status") or {}
    if not status.get("keyId") or blocked_by_provisioning(status):
        return  # not provisioned (yet, or any more): the provisioning handler says why
    meta, spec = ledger["metadata"], ledger.get("spec") or {}
    ref = ledger_ref(ledger)
    with rt.db.connection() as conn:
        pending = pending_count(conn, ref)
        head = latest_tree_head(conn, ref)
        size = head.tree_size if head else 0
        previous = memo.get("tree_size")
        if previous is not None and size > previous:
            metrics.ENTRIES_SEALED.labels(ledger=ref).inc(size - previous)
            start = max(previous, size - _LATENCY_SAMPLE)
            for seconds in seal_latencies(conn, ref, start, size):
                metrics.SEAL_LATENCY.labels(ledger=ref).observe(seconds)
        memo["tree_size"] = size
        witnessed, published_size = witnessing_status(conn, ref, ledger, head)
    low = int(spec.get("minWorkers", 0))
    high = max(low, int(spec.get("maxWorkers", 4)))
    desired = desired_workers(pending, int(spec.get("entriesPerWorker", 200)), low, high)
    raw_jobs = rt.kube.list_jobs(meta["namespace"], role_selector(ledger, ROLE_WORKER))
    jobs = worker_jobs(raw_jobs)
    reported = memo.setdefault("failed_jobs", set())
    for job in raw_jobs:
        job_name = job["metadata"]["name"]
        if _failed(job) and job_name not in reported:
            reported.add(job_name)
            metrics.JOB_FAILURES.labels(ledger=ref).inc()
            rt.kube.post_event(
                ledger,
                type="Warning",
                reason="WorkerJobFailed",
                message=f"Worker Job {job_name} failed; a new Job takes over pending entries.",
            )
    decision = plan_worker_job(desired, jobs)
    current_job = decision.job or ""
    if decision.action is PoolAction.CREATE:
        current_job = rt.kube.create_job(worker_job(ledger, rt.config, decision.parallelism))
        rt.kube.post_event(
            ledger,
            type="Normal",
            reason="WorkersStarted",
            message=f"Worker Job {current_job} started with {decision.parallelism} workers "
            f"for {pending} pending entries.",
        )
    elif decision.action is PoolAction.SCALE_UP and decision.job:
        rt.kube.set_job_parallelism(meta["namespace"], decision.job, decision.parallelism)
        rt.kube.post_event(
            ledger,
            type="Normal",
            reason="WorkersScaled",
            message=f"Worker Job {decision.job} scaled to {decision.parallelism} workers "
            f"for {pending} pending entries.",
        )
    active = active_workers(jobs)
    metrics.ENTRIES_PENDING.labels(ledger=ref).set(pending)
    metrics.TREE_SIZE.labels(ledger=ref).set(size)
    metrics.WORKERS_DESIRED.labels(ledger=ref).set(desired)
    metrics.WORKERS_ACTIVE.labels(ledger=ref).set(active)
    wanted = ledger_status(
        status,
        tree_head=head.to_dict() if head else None,
        pending=pending,
        desired_workers=desired,
        active_workers=active,
        worker_job=current_job,
        generation=int(meta.get("generation") or 1),
        now=rfc3339(datetime.datetime.now(datetime.UTC)),
        witnessed=witnessed,
        published_tree_size=published_size,
    )
    if any(status.get(key) != value for key, value in wanted.items()):
        rt.kube.patch_ledger_status(meta["namespace"], meta["name"], wanted)


def report_database_down(rt: Runtime, ledger: dict[str, Any], reason: str) -> None:
    """Ready False (DatabaseUnavailable) and a Warning event, once per outage; the
    next round that reaches the database sets Ready True again. Raises KubeError."""
    status = ledger.get("status") or {}
    if not status.get("keyId") or blocked_by_provisioning(status):
        return
    ready = find_condition(status.get("conditions"), "Ready") or {}
    if ready.get("reason") == DATABASE_UNAVAILABLE:
        return
    message = (
        f"The ledger database does not answer ({reason}); entries wait, and the Ledger "
        "becomes Ready when it answers again."
    )
    meta = ledger["metadata"]
    rt.kube.patch_ledger_status(
        meta["namespace"],
        meta["name"],
        ledger_not_ready_status(
            status,
            reason=DATABASE_UNAVAILABLE,
            message=message,
            generation=int(meta.get("generation") or 1),
            now=rfc3339(datetime.datetime.now(datetime.UTC)),
        ),
    )
    rt.kube.post_event(ledger, type="Warning", reason=DATABASE_UNAVAILABLE, message=message)


@kopf.daemon(*LEDGERS, cancellation_timeout=10.0)
async def run_pool(
    body: kopf.Body, stopped: kopf.DaemonStopped, memo: Any, logger: kopf.Logger, **_: Any
) -> None:
    rt = runtime(memo)
    nudge = rt.nudges.event(ledger_ref(body))
    # While Kopf runs this daemon, this replica is the active one (peering).
    with entry_controller(memo).replica.daemon_running():
        await _pool_rounds(rt, memo, body, stopped, nudge, logger)


async def _pool_rounds(
    rt: Runtime,
    memo: Any,
    body: kopf.Body,
    stopped: kopf.DaemonStopped,
    nudge: asyncio.Event,
    logger: kopf.Logger,
) -> None:
    loop = asyncio.get_running_loop()
    while not stopped:
        nudge.clear()
        started = loop.time()
        try:
            # The body is Kopf's live view: each round sees the latest spec and status.
            await asyncio.to_thread(reconcile_pool, rt, memo, plain(body))
        except UnknownLedgerError:
            pass  # provisioning has not reached the database yet
        except DATABASE_DOWN as exc:
            logger.warning("the ledger database does not answer, retrying: %s", exc)
            with contextlib.suppress(KubeError):
                await asyncio.to_thread(report_database_down, rt, plain(body), str(exc))
        except _PASS_ERRORS as exc:
            logger.warning("worker pool round failed, retrying: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(nudge.wait(), timeout=rt.config.reconcile_interval_seconds)
        # Under load every admission batch nudges; a round (database reads, a Job
        # list, maybe a status write) per batch cost a fifth of the operator's CPU.
        await asyncio.sleep(max(0.0, started + MIN_ROUND_SECONDS - loop.time()))
