"""The worker pool's scaling policy: pure functions, no Kubernetes calls.

One worker Job per ledger is the pool. Its ``parallelism`` follows the backlog;
workers drain the queue and exit after an idle period, which is how the pool
shrinks (see docs/decisions/0041-worker-pool-scaling.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


def desired_workers(
    pending: int, entries_per_worker: int, min_workers: int, max_workers: int
) -> int:
    """Worker pods for a backlog: clamp(ceil(pending / entries_per_worker), min, max).

    Requires ``pending >= 0``, ``entries_per_worker >= 1`` and
    ``0 <= min_workers <= max_workers``; raises ValueError otherwise.
    """
    if pending < 0:
        raise ValueError(f"pending must be >= 0, got {pending}")
    if entries_per_worker < 1:
        raise ValueError(f"entries_per_worker must be >= 1, got {entries_per_worker}")
    if not 0 <= min_workers <= max_workers:
        raise ValueError(
            f"need 0 <= min_workers <= max_workers, got min_workers={min_workers} "
            f"max_workers={max_workers}"
        )
    wanted = -(-pending // entries_per_worker)  # ceiling division on integers
    return max(min_workers, min(max_workers, wanted))


@dataclass(frozen=True)
class WorkerJob:
    """What the operator observed of one worker Job of a ledger.

    ``succeeded`` counts pods that exited 0. In the work-queue pattern (no
    ``completions``) Kubernetes starts no new pods once one has succeeded, so
    such a Job is draining: it can no longer grow.
    """

    name: str
    parallelism: int
    active: int
    succeeded: int
    finished: bool  # condition Complete or Failed is True

    @property
    def accepting(self) -> bool:
        """True while raising ``parallelism`` would still start pods."""
        return not self.finished and self.succeeded == 0


class PoolAction(enum.Enum):
    NOTHING = "nothing"
    CREATE = "create"  # start a new worker Job with the given parallelism
    SCALE_UP = "scale-up"  # patch the accepting Job's parallelism


@dataclass(frozen=True)
class PoolDecision:
    action: PoolAction
    parallelism: int
    job: str | None = None  # the Job to patch, for SCALE_UP


def plan_worker_job(desired: int, jobs: list[WorkerJob]) -> PoolDecision:
    """Decide what to do with a ledger's worker Jobs to run ``desired`` workers.

    - No work (``desired == 0``): nothing; running workers drain and exit.
    - An accepting Job exists: raise its parallelism when ``desired`` is higher,
      never lower it (lowering kills pods mid-batch; idle exit shrinks the pool).
    - Otherwise (none, or only finished/draining Jobs): create a new Job with
      ``desired`` parallelism. A draining Job's remaining pods keep working
      alongside it; sealing is serialized by the database, so that is safe.

    Requires ``desired >= 0``; raises ValueError otherwise.
    """
    if desired < 0:
        raise ValueError(f"desired must be >= 0, got {desired}")
    if desired == 0:
        return PoolDecision(PoolAction.NOTHING, 0)
    accepting = [job for job in jobs if job.accepting]
    if not accepting:
        return PoolDecision(PoolAction.CREATE, desired)
    current = max(accepting, key=lambda job: job.parallelism)
    if desired > current.parallelism:
        return PoolDecision(PoolAction.SCALE_UP, desired, current.name)
    return PoolDecision(PoolAction.NOTHING, current.parallelism, current.name)


def active_workers(jobs: list[WorkerJob]) -> int:
    """Worker pods running across all of a ledger's Jobs."""
    return sum(job.active for job in jobs if not job.finished)
