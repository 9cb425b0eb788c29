"""The Job controller's decisions as pure functions of a Job and its pods."""

from __future__ import annotations

import datetime
from typing import Any

from guestbook_devcluster.jobrunner.job_status import format_indexes, parse_indexes, plan

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def job(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "j", "namespace": "default", "uid": "u"}, "spec": spec}


def pod(name: str, created: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "status": {"phase": "Running"},
    }


def test_completed_indexes_round_trip() -> None:
    assert format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert parse_indexes("") == set()


def test_scale_up_creates_missing_pods_and_scale_down_deletes_the_newest() -> None:
    pods = [pod("a", "2026-01-01T11:00:00Z"), pod("b", "2026-01-01T11:00:05Z")]
    up = plan(job(parallelism=5, completions=10), pods, 0, 0, set(), NOW)
    assert up.create_indexes == [None, None, None]
    down = plan(job(parallelism=1, completions=10), pods, 0, 0, set(), NOW)
    assert [p["metadata"]["name"] for p in down.delete_pods] == ["b"]


def test_indexed_job_creates_pods_for_missing_indexes_only() -> None:
    result = plan(
        job(parallelism=3, completions=5, completionMode="Indexed"), [], 2, 0, {0, 2}, NOW
    )
    assert result.create_indexes == [1, 3, 4]


def test_failures_beyond_backoff_limit_fail_the_job() -> None:
    result = plan(job(backoffLimit=1), [], 0, 2, set(), NOW)
    failed = [c for c in result.status["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "BackoffLimitExceeded"
    assert not result.create_indexes


def test_deadline_fails_a_running_job_and_stops_its_pods() -> None:
    started = job(activeDeadlineSeconds=10)
    started["status"] = {"startTime": "2026-01-01T11:59:00Z"}
    running = [pod("a", "2026-01-01T11:59:00Z")]
    result = plan(started, running, 0, 0, set(), NOW)
    assert [c["reason"] for c in result.status["conditions"] if c["type"] == "Failed"] == [
        "DeadlineExceeded"
    ]
    assert result.delete_pods == running
