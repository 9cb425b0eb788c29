"""Job runner test helpers: Job manifests running real Python, bounded waits."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from guestbook_devcluster.kubectl import Kubectl

T = TypeVar("T")
WAIT_SECONDS = 60.0  # generous: tests must pass on a loaded 2-core machine


def wait_for(check: Callable[[], T | None], what: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``check`` until it returns a truthy value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def python_job(name: str, code: str, **spec: Any) -> dict[str, Any]:
    """A Job whose pods run ``python -c code`` (this interpreter); ``spec`` adds Job fields."""
    pod_spec = spec.pop("pod_spec", {})
    container = {"name": "main", "image": "python:3.11", "command": [sys.executable, "-c", code]}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {"spec": {"restartPolicy": "Never", "containers": [container], **pod_spec}},
            **spec,
        },
    }


def apply(kubectl: Kubectl, manifest: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=json.dumps(manifest))


def get_json(kubectl: Kubectl, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(kubectl("get", *args, "-o", "json"))
    return result


def condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for item in (job.get("status") or {}).get("conditions") or []:
        if item.get("type") == kind and item.get("status") == "True":
            return dict(item)
    return None


def job_pods(kubectl: Kubectl, job: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json(kubectl, "pods", "-l", f"job-name={job}")["items"]
    return sorted(items, key=lambda p: str(p["metadata"]["creationTimestamp"]))
