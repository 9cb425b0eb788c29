"""Pod status documents as a kubelet writes them (pure functions).

Each function returns the complete ``status`` for one moment of a pod's life,
so the kubelet sends it as one merge patch of the ``/status`` subresource.
"""

from __future__ import annotations

import datetime
from typing import Any

Obj = dict[str, Any]

POD_IP = "127.0.0.1"  # every pod shares the host's network namespace


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, ok: bool, at: str, reason: str | None = None) -> Obj:
    condition: Obj = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastProbeTime": None,
        "lastTransitionTime": at,
    }
    if reason:
        condition["reason"] = reason
    return condition


def _conditions(at: str, *, started: bool, ready: bool, reason: str | None) -> list[Obj]:
    return [
        _condition("PodReadyToStartContainers", started, at),
        _condition("Initialized", True, at),
        _condition("Ready", ready, at, None if ready else reason),
        _condition("ContainersReady", ready, at, None if ready else reason),
        _condition("PodScheduled", True, at),
    ]


def _base(pod: Obj, phase: str, start_time: str) -> Obj:
    return {
        "phase": phase,
        "hostIP": POD_IP,
        "hostIPs": [{"ip": POD_IP}],
        "podIP": POD_IP,
        "podIPs": [{"ip": POD_IP}],
        "startTime": start_time,
        "qosClass": "BestEffort",
    }


def _container(container: Obj, state: Obj, *, ready: bool, restarts: int, **extra: Any) -> Obj:
    status: Obj = {
        "name": container.get("name", ""),
        "image": container.get("image", ""),
        "imageID": "",
        "ready": ready,
        "started": "running" in state,
        "restartCount": restarts,
        "state": state,
    }
    status.update(extra)
    return status


def waiting(
    pod: Obj, container: Obj, start_time: str, reason: str, message: str | None, restarts: int = 0
) -> Obj:
    """Pending (or crash-looping) with the container waiting for ``reason``."""
    state: Obj = {"waiting": {"reason": reason}}
    if message:
        state["waiting"]["message"] = message
    status = _base(pod, "Pending" if restarts == 0 else "Running", start_time)
    status["conditions"] = _conditions(
        start_time, started=False, ready=False, reason="ContainersNotReady"
    )
    status["containerStatuses"] = [_container(container, state, ready=False, restarts=restarts)]
    return status


def running(
    pod: Obj, container: Obj, start_time: str, started_at: str, pid: int, restarts: int
) -> Obj:
    """Running: the container process ``pid`` started at ``started_at``."""
    status = _base(pod, "Running", start_time)
    status["conditions"] = _conditions(started_at, started=True, ready=True, reason=None)
    status["containerStatuses"] = [
        _container(
            container,
            {"running": {"startedAt": started_at}},
            ready=True,
            restarts=restarts,
            containerID=f"local://{pid}",
        )
    ]
    return status


def terminated(
    pod: Obj,
    container: Obj,
    start_time: str,
    *,
    exit_code: int,
    reason: str,
    message: str | None,
    started_at: str | None,
    finished_at: str,
    pid: int | None,
    restarts: int,
) -> Obj:
    """Succeeded (exit 0) or Failed: the container ended with ``exit_code``."""
    phase = "Succeeded" if exit_code == 0 and reason == "Completed" else "Failed"
    status = _base(pod, phase, start_time)
    status["conditions"] = _conditions(
        finished_at, started=False, ready=False, reason="PodCompleted"
    )
    state: Obj = {
        "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started_at or finished_at,
            "finishedAt": finished_at,
        }
    }
    if message:
        state["terminated"]["message"] = message
    extra: Obj = {}
    if pid is not None:
        extra["containerID"] = f"local://{pid}"
        state["terminated"]["containerID"] = f"local://{pid}"
    status["containerStatuses"] = [
        _container(container, state, ready=False, restarts=restarts, **extra)
    ]
    return status
