"""The worker pool's scaling policy."""

from __future__ import annotations

import pytest
from guestbook_operator.policy import (
    PoolAction,
    WorkerJob,
    active_workers,
    desired_workers,
    plan_worker_job,
)
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("pending", "per_worker", "low", "high", "expected"),
    [
        (0, 100, 0, 4, 0),  # no work, no warm pool: no workers
        (0, 100, 2, 4, 2),  # warm pool
        (1, 100, 0, 4, 1),
        (100, 100, 0, 4, 1),
        (101, 100, 0, 4, 2),
        (10_000, 100, 0, 4, 4),  # capped
        (350, 100, 1, 8, 4),
    ],
)
def test_desired_workers_is_clamped_ceiling(
    pending: int, per_worker: int, low: int, high: int, expected: int
) -> None:
    assert desired_workers(pending, per_worker, low, high) == expected


@given(
    pending=st.integers(0, 10**9),
    per_worker=st.integers(1, 10**4),
    low=st.integers(0, 50),
    extra=st.integers(0, 50),
)
def test_desired_workers_bounds(pending: int, per_worker: int, low: int, extra: int) -> None:
    high = low + extra
    got = desired_workers(pending, per_worker, low, high)
    assert low <= got <= high
    if low < got < high:
        # Enough workers for the backlog, and not one more.
        assert (got - 1) * per_worker < pending <= got * per_worker


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 100, 0, 4), "pending"),
        ((5, 0, 0, 4), "entries_per_worker"),
        ((5, 100, 5, 4), "min_workers <= max_workers"),
        ((5, 100, -1, 4), "min_workers"),
    ],
)
def test_desired_workers_rejects_bad_input(args: tuple[int, int, int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        desired_workers(*args)


def job(
    name: str, parallelism: int, active: int = 0, succeeded: int = 0, finished: bool = False
) -> WorkerJob:
    return WorkerJob(name, parallelism, active, succeeded, finished)


def test_no_work_no_job() -> None:
    decision = plan_worker_job(0, [])
    assert decision.action is PoolAction.NOTHING


def test_no_work_leaves_running_job_to_drain() -> None:
    decision = plan_worker_job(0, [job("w-1", 3, active=3)])
    assert decision.action is PoolAction.NOTHING


def test_work_without_job_creates_one() -> None:
    decision = plan_worker_job(3, [])
    assert (decision.action, decision.parallelism) == (PoolAction.CREATE, 3)


def test_more_work_scales_running_job_up() -> None:
    decision = plan_worker_job(4, [job("w-1", 2, active=2)])
    assert (decision.action, decision.parallelism, decision.job) == (
        PoolAction.SCALE_UP,
        4,
        "w-1",
    )


def test_less_work_never_scales_down() -> None:
    decision = plan_worker_job(1, [job("w-1", 4, active=4)])
    assert decision.action is PoolAction.NOTHING
    assert decision.parallelism == 4


def test_work_after_job_finished_creates_new_job() -> None:
    decision = plan_worker_job(2, [job("w-1", 4, succeeded=4, finished=True)])
    assert (decision.action, decision.parallelism) == (PoolAction.CREATE, 2)


def test_work_while_job_drains_creates_new_job() -> None:
    # A pod already exited 0, so Kubernetes starts no more pods in that Job.
    decision = plan_worker_job(2, [job("w-1", 4, active=1, succeeded=3)])
    assert (decision.action, decision.parallelism) == (PoolAction.CREATE, 2)


def test_work_after_failed_job_creates_new_job() -> None:
    decision = plan_worker_job(1, [job("w-1", 1, finished=True)])
    assert decision.action is PoolAction.CREATE


def test_plan_rejects_negative_desired() -> None:
    with pytest.raises(ValueError, match="desired"):
        plan_worker_job(-1, [])


def test_active_workers_counts_unfinished_jobs() -> None:
    jobs = [job("a", 4, active=1, succeeded=3), job("b", 2, active=2), job("c", 1, finished=True)]
    assert active_workers(jobs) == 3
