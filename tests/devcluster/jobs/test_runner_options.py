"""Options of the job runner: start delay, switching it off, restart policies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from job_manifests import apply, condition, get_json, job_pods, python_job, wait_for


def _kubectl(cluster: DevCluster, tmp_path: Path) -> Kubectl:
    return Kubectl(cluster.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")


@pytest.fixture
def slow_cluster() -> Iterator[DevCluster]:
    # Long enough for kubectl to see the waiting pod on a loaded machine.
    with DevCluster(pod_start_delay=4.0) as cluster:
        yield cluster


@pytest.fixture
def bare_cluster() -> Iterator[DevCluster]:
    with DevCluster(job_runner=False) as cluster:
        yield cluster


def _waiting_reason(pod: dict[str, Any]) -> str | None:
    for status in pod["status"].get("containerStatuses") or []:
        reason = (status["state"].get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return None


def test_the_pod_start_delay_shows_containers_creating_before_they_run(
    slow_cluster: DevCluster, tmp_path: Path
) -> None:
    kubectl = _kubectl(slow_cluster, tmp_path)
    apply(kubectl, python_job("delayed", "print('late but here')"))

    pods = wait_for(lambda: job_pods(kubectl, "delayed"), "the pod")
    assert _waiting_reason(pods[0]) in (None, "ContainerCreating")
    wait_for(
        lambda: _waiting_reason(job_pods(kubectl, "delayed")[0]) == "ContainerCreating",
        "ContainerCreating",
    )
    assert "ContainerCreating" in kubectl("get", "pods", "-l", "job-name=delayed")

    kubectl("wait", "--for=condition=complete", "job/delayed", "--timeout=60s")
    assert kubectl("logs", "job/delayed") == "late but here\n"


def test_without_the_job_runner_jobs_get_no_pods_and_pods_stay_pending(
    bare_cluster: DevCluster, tmp_path: Path
) -> None:
    kubectl = _kubectl(bare_cluster, tmp_path)
    apply(kubectl, python_job("idle", "print('never')"))
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lonely"},
        "spec": {"containers": [{"name": "main", "image": "python", "command": ["true"]}]},
    }
    apply(kubectl, pod)

    # Nothing acts on them: the Job has no status, the pod is unscheduled and Pending.
    assert get_json(kubectl, "job", "idle").get("status") in (None, {})
    stored = get_json(kubectl, "pod", "lonely")
    assert stored["status"]["phase"] == "Pending"
    assert "nodeName" not in stored["spec"]
    kubectl("delete", "pod", "lonely", "--timeout=30s")  # unscheduled: deleted at once
    assert job_pods(kubectl, "idle") == []


def test_on_failure_restarts_the_container_in_place_and_counts_toward_the_limit(
    kubectl: Kubectl, marker_dir: Path
) -> None:
    attempts = marker_dir / "attempts"
    code = (
        f"p = {str(attempts)!r}\n"
        "open(p, 'a').write('x')\n"
        "n = len(open(p).read())\n"
        "print('attempt', n)\n"
        "raise SystemExit(0 if n >= 2 else 1)\n"
    )
    job = python_job("phoenix", code, backoffLimit=3)
    job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    apply(kubectl, job)
    kubectl("wait", "--for=condition=complete", "job/phoenix", "--timeout=60s")

    pods = job_pods(kubectl, "phoenix")
    assert len(pods) == 1
    status = pods[0]["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert kubectl("logs", pods[0]["metadata"]["name"]) == "attempt 2\n"
    assert kubectl("logs", pods[0]["metadata"]["name"], "--previous") == "attempt 1\n"

    hopeless = python_job("hopeless", "raise SystemExit(1)", backoffLimit=1)
    hopeless["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    apply(kubectl, hopeless)
    kubectl("wait", "--for=condition=failed", "job/hopeless", "--timeout=90s")
    failed = condition(get_json(kubectl, "job", "hopeless"), "Failed")
    assert failed is not None and failed["reason"] == "BackoffLimitExceeded"
