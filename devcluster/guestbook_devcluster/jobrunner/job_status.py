"""What a Job wants next, computed from the Job and its pods (pure functions).

The controller shell (``job_controller.py``) turns the :class:`JobPlan` into
API calls. Pod accounting follows the real Job controller: every pod carries
the ``batch.kubernetes.io/job-tracking`` finalizer until the Job's status has
counted it, so a pod is counted exactly once even across restarts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
DEFAULT_BACKOFF_LIMIT = 6


def parse_time(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)


def format_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def completion_index(pod: Obj) -> int | None:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(INDEX_ANNOTATION)
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def parse_indexes(text: str | None) -> set[int]:
    """``"0-2,5"`` → {0, 1, 2, 5} (the completedIndexes format)."""
    found: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def format_indexes(indexes: set[int]) -> str:
    """{0, 1, 2, 5} → ``"0-2,5"``; intervals in increasing order."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        low, high = ordered[start], ordered[end]
        parts.append(str(low) if low == high else f"{low}-{high}")
        start = end + 1
    return ",".join(parts)


def pod_outcome(pod: Obj) -> str | None:
    """ "succeeded", "failed", or None while the pod still counts as active.

    A pod being deleted before it succeeded counts as failed, as in Kubernetes.
    """
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return "succeeded"
    if phase == "Failed" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "failed"
    return None


def is_tracked(pod: Obj) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def is_ready(pod: Obj) -> bool:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def condition_true(job: Obj, kind: str) -> Obj | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def finished_at(job: Obj) -> datetime.datetime | None:
    """When the Job reached Complete or Failed, or None while it runs."""
    for kind in ("Complete", "Failed"):
        condition = condition_true(job, kind)
        if condition is not None:
            return parse_time(condition.get("lastTransitionTime")) or datetime.datetime.now(
                datetime.UTC
            )
    return None


def _set_condition(
    conditions: list[Obj], kind: str, status: str, reason: str, message: str, now: str
) -> list[Obj]:
    result = [dict(c) for c in conditions]
    for condition in result:
        if condition.get("type") == kind:
            if (condition.get("status"), condition.get("reason")) != (status, reason):
                condition.update(status=status, reason=reason, message=message)
                condition.update(lastProbeTime=now, lastTransitionTime=now)
            return result
    result.append(
        {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastProbeTime": now,
            "lastTransitionTime": now,
        }
    )
    return result


@dataclass
class JobPlan:
    """What to do for one Job now."""

    create_indexes: list[int | None] = field(default_factory=list)  # None: non-indexed pod
    delete_pods: list[Obj] = field(default_factory=list)  # not counted as failed
    status: Obj = field(default_factory=dict)  # the whole new status
    requeue_at: datetime.datetime | None = None  # deadline or TTL to check again
    delete_job: bool = False  # ttlSecondsAfterFinished has passed


def plan(
    job: Obj, active: list[Obj], succeeded: int, failed: int, done: set[int], now: datetime.datetime
) -> JobPlan:
    """The next step for ``job``.

    Requires: ``active`` are the Job's pods that are neither finished nor being
    deleted; ``succeeded``/``failed`` are all counted pods (status plus newly
    counted); ``done`` are the completed indexes (Indexed mode).
    """
    spec = job.get("spec") or {}
    old = job.get("status") or {}
    stamp = format_time(now)
    result = JobPlan()
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1) if spec.get("parallelism") is not None else 1)
    backoff_limit = int(
        spec["backoffLimit"] if spec.get("backoffLimit") is not None else DEFAULT_BACKOFF_LIMIT
    )
    conditions: list[Obj] = list(old.get("conditions") or [])
    status: Obj = {
        "active": len(active),
        "ready": sum(1 for p in active if is_ready(p)),
        "succeeded": succeeded,
        "failed": failed,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    }
    if indexed:
        status["completedIndexes"] = format_indexes(done)
    for key in ("startTime", "completionTime"):
        if old.get(key):
            status[key] = old[key]

    finished = finished_at(job)
    if finished is not None:
        result.delete_pods = list(active)
        status["active"] = 0
        status["ready"] = 0
        ttl = spec.get("ttlSecondsAfterFinished")
        if ttl is not None:
            due = finished + datetime.timedelta(seconds=int(ttl))
            if now >= due:
                result.delete_job = True
            else:
                result.requeue_at = due
        status["conditions"] = conditions
        result.status = status
        return result

    if spec.get("suspend"):
        result.delete_pods = list(active)
        status["active"] = 0
        status["ready"] = 0
        status.pop("startTime", None)
        status["conditions"] = _set_condition(
            conditions, "Suspended", "True", "JobSuspended", "Job suspended", stamp
        )
        result.status = status
        return result
    if condition_true(job, "Suspended"):
        conditions = _set_condition(
            conditions, "Suspended", "False", "JobResumed", "Job resumed", stamp
        )
    start = parse_time(status.get("startTime"))
    if start is None:
        start = now
        status["startTime"] = stamp

    # Pods restarted in place (restartPolicy OnFailure) count toward the backoff limit.
    restarts = sum(
        int(s.get("restartCount") or 0)
        for p in active
        for s in (p.get("status") or {}).get("containerStatuses") or []
    )
    failure: tuple[str, str] | None = None
    if failed + restarts > backoff_limit:
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    deadline = spec.get("activeDeadlineSeconds")
    if failure is None and deadline is not None:
        due = start + datetime.timedelta(seconds=int(deadline))
        if now >= due:
            failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
        else:
            result.requeue_at = due
    if failure is not None:
        reason, message = failure
        result.delete_pods = list(active)
        status["active"] = 0
        status["ready"] = 0
        conditions = _set_condition(conditions, "FailureTarget", "True", reason, message, stamp)
        status["conditions"] = _set_condition(conditions, "Failed", "True", reason, message, stamp)
        result.status = status
        result.requeue_at = None
        _schedule_ttl(spec, now, result)
        return result

    if indexed:
        total = int(completions if completions is not None else 1)
        complete = len(done & set(range(total))) >= total
    elif completions is None:
        complete = succeeded > 0 and not active
    else:
        complete = succeeded >= int(completions)
    if complete:
        result.delete_pods = list(active)
        status["active"] = 0
        status["ready"] = 0
        status["completionTime"] = stamp
        conditions = _set_condition(
            conditions,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            stamp,
        )
        status["conditions"] = _set_condition(
            conditions,
            "Complete",
            "True",
            "CompletionsReached",
            "Reached expected number of succeeded pods",
            stamp,
        )
        result.status = status
        result.requeue_at = None
        _schedule_ttl(spec, now, result)
        return result

    # Still running: bring the number of active pods to what the spec asks for.
    if indexed:
        total = int(completions if completions is not None else 1)
        running = {completion_index(p) for p in active}
        pending = [i for i in range(total) if i not in done and i not in running]
        want = min(parallelism, total - len(done & set(range(total))))
    elif completions is None:
        pending = []
        want = 0 if succeeded > 0 else parallelism
    else:
        pending = []
        want = min(parallelism, int(completions) - succeeded)
    if len(active) < want:
        missing = want - len(active)
        result.create_indexes = list(pending[:missing]) if indexed else [None] * missing
    elif len(active) > want and not (completions is None and not indexed and succeeded > 0):
        newest_first = sorted(
            active,
            key=lambda p: (
                str((p.get("metadata") or {}).get("creationTimestamp") or ""),
                str((p.get("metadata") or {}).get("name") or ""),
            ),
            reverse=True,
        )
        result.delete_pods = newest_first[: len(active) - want]
    status["conditions"] = conditions
    result.status = status
    return result


def _schedule_ttl(spec: Obj, now: datetime.datetime, result: JobPlan) -> None:
    ttl = spec.get("ttlSecondsAfterFinished")
    if ttl is not None:
        result.requeue_at = now + datetime.timedelta(seconds=int(ttl))
