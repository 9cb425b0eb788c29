"""Pod status documents as a kubelet writes them (pure functions).

:func:`pod_status` turns what the kubelet knows about each container into the
complete ``status`` of the pod — phase, conditions, container statuses,
addresses — so it is sent as one merge patch of the ``/status`` subresource.
The phase follows the kubelet's ``getPhase``; condition transition times only
move when a condition's status changes.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

HOST_IP = "127.0.0.1"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro_time() -> str:
    """Now in RFC 3339 with microseconds, UTC: a MicroTime (Lease times), and how
    CRI log lines start."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ContainerView:
    """What the kubelet knows about one container of a pod, as the API shows it."""

    name: str
    image: str
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    image_id: str = ""
    container_id: str | None = None

    def status(self) -> Obj:
        status: Obj = {
            "name": self.name,
            "image": self.image,
            "imageID": self.image_id,
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


def phase(restart_policy: str, containers: Sequence[ContainerView], *, terminal: bool) -> str:
    """The pod phase for these container states (the kubelet's ``getPhase``).

    ``terminal``: the pod is being deleted and no container runs any more.
    """
    running = waiting = stopped = succeeded = 0
    for container in containers:
        state = container.state
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if int(state["terminated"].get("exitCode") or 0) == 0:
                succeeded += 1
        elif "terminated" in container.last_state:
            stopped += 1  # waiting to restart after a run
        else:
            waiting += 1
    if terminal and running == 0:
        return "Succeeded" if stopped == succeeded and waiting == 0 else "Failed"
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped == 0:
        return "Pending"
    if restart_policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    if restart_policy == "Never":
        return "Failed"
    return "Running"  # OnFailure: the failed containers are restarted


def _condition(kind: str, ok: bool, now: str, previous: dict[str, Obj], **extra: str) -> Obj:
    status = "True" if ok else "False"
    before = previous.get(kind)
    at = now
    if before is not None and before.get("status") == status and before.get("lastTransitionTime"):
        at = str(before["lastTransitionTime"])
    condition: Obj = {"type": kind, "status": status, "lastProbeTime": None}
    condition["lastTransitionTime"] = at
    condition.update({k: v for k, v in extra.items() if v})
    return condition


def pod_status(
    pod: Obj,
    containers: Sequence[ContainerView],
    *,
    pod_ip: str,
    start_time: str,
    sandbox_ready: bool,
    terminal: bool = False,
    message: str | None = None,
    now: str | None = None,
) -> Obj:
    """The complete status of ``pod`` (a Pod object as the API returned it).

    ``sandbox_ready``: the pod's IP, files and identity are in place
    (PodReadyToStartContainers). ``message`` becomes ``status.message``.
    """
    now = now or now_rfc3339()
    spec = pod.get("spec") or {}
    previous = {str(c.get("type")): c for c in (pod.get("status") or {}).get("conditions") or []}
    the_phase = phase(str(spec.get("restartPolicy") or "Always"), containers, terminal=terminal)
    done = the_phase in ("Succeeded", "Failed")
    unready = [c.name for c in containers if not c.ready]
    ready = not unready and not done
    reason = "PodCompleted" if done else "ContainersNotReady"
    not_ready_message = (
        "" if ready or done else f"containers with unready status: [{' '.join(unready)}]"
    )
    conditions = [
        _condition("PodReadyToStartContainers", sandbox_ready and not done, now, previous),
        _condition("Initialized", True, now, previous, reason="PodCompleted" if done else ""),
        _condition(
            "Ready", ready, now, previous,
            reason="" if ready else reason, message=not_ready_message,
        ),
        _condition(
            "ContainersReady", ready, now, previous,
            reason="" if ready else reason, message=not_ready_message,
        ),
        _condition("PodScheduled", True, now, previous),
    ]  # fmt: skip
    status: Obj = {
        "phase": the_phase,
        "conditions": conditions,
        "hostIP": HOST_IP,
        "hostIPs": [{"ip": HOST_IP}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": start_time,
        "containerStatuses": [c.status() for c in containers],
    }
    if message:
        status["message"] = message
    return status


def terminated_state(
    exit_code: int,
    reason: str,
    *,
    started_at: str | None,
    finished_at: str,
    container_id: str | None = None,
    message: str | None = None,
) -> Obj:
    """A container ``state`` (or ``lastState``) of a run that ended."""
    terminated: Obj = {
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": started_at or finished_at,
        "finishedAt": finished_at,
    }
    if message:
        terminated["message"] = message
    if container_id:
        terminated["containerID"] = container_id
    return {"terminated": terminated}


def waiting_state(reason: str, message: str | None = None) -> Obj:
    """A container ``state`` waiting for ``reason`` (ContainerCreating, CrashLoopBackOff, ...)."""
    waiting: Obj = {"reason": reason}
    if message:
        waiting["message"] = message
    return {"waiting": waiting}
