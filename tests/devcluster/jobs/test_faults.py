"""Fault injection: every kind of fault is seen by clients and in the request log."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from job_manifests import apply, get_json, job_pods, python_job, wait_for
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException


def _faults_logged(cluster: DevCluster, fault: str) -> list[Any]:
    return [r for r in cluster.services.request_log.records() if r.fault and fault in r.fault]


def test_failed_pod_creations_are_retried_and_the_job_still_completes(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    devcluster.services.faults.fail_next(3, verb="create", resource="pods", code=500)

    apply(kubectl, python_job("sturdy", "print('ok')"))
    kubectl("wait", "--for=condition=complete", "job/sturdy", "--timeout=60s")

    failed = _faults_logged(devcluster, "error 500")
    assert [(r.verb, r.resource, r.code) for r in failed] == [("create", "pods", 500)] * 3
    assert len(job_pods(kubectl, "sturdy")) == 1


def test_too_many_requests_carries_retry_after_and_kubectl_waits_it_out(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    kubectl("create", "configmap", "busy")
    devcluster.services.faults.fail_next(
        1, verb="get", resource="configmaps", code=429, retry_after=1
    )
    response = httpx.get(
        f"{devcluster.url}/api/v1/namespaces/default/configmaps/busy",
        headers={"Authorization": f"Bearer {devcluster.token}"},
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.json()["reason"] == "TooManyRequests"

    devcluster.services.faults.fail_next(
        2, verb="get", resource="configmaps", code=429, retry_after=1
    )
    assert get_json(kubectl, "configmap", "busy")["metadata"]["name"] == "busy"
    assert len(_faults_logged(devcluster, "error 429")) == 3


def test_injected_conflicts_reach_the_client_as_409(
    devcluster: DevCluster, kubectl: Kubectl, api_client: client.ApiClient
) -> None:
    kubectl("create", "configmap", "contested")
    devcluster.services.faults.fail_next(1, verb="patch", resource="configmaps", code=409)
    core = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as raised:
        core.patch_namespaced_config_map("contested", "default", {"data": {"a": "b"}})
    assert raised.value.status == 409
    core.patch_namespaced_config_map("contested", "default", {"data": {"a": "b"}})
    assert get_json(kubectl, "configmap", "contested")["data"] == {"a": "b"}


def test_gone_on_watches_and_dropped_streams_do_not_stop_the_job_runner(
    devcluster: DevCluster, kubectl: Kubectl, api_client: client.ApiClient
) -> None:
    faults = devcluster.services.faults
    core = client.CoreV1Api(api_client)
    faults.fail_next(1, verb="watch", resource="configmaps", code=410)
    with pytest.raises(ApiException) as raised:
        for _ in watch.Watch().stream(  # type: ignore[no-untyped-call]
            core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=5
        ):
            pass
    assert raised.value.status == 410

    faults.fail_next(3, verb="watch", resource="jobs", code=410)
    faults.fail_next(3, verb="watch", resource="pods", code=410)
    faults.drop_watches()
    apply(kubectl, python_job("resilient", "print('still here')"))
    kubectl("wait", "--for=condition=complete", "job/resilient", "--timeout=60s")
    assert kubectl("logs", "job/resilient") == "still here\n"
    assert "drop watches" in faults.events
    assert len(_faults_logged(devcluster, "drop watches")) == 1
    wait_for(lambda: len(_faults_logged(devcluster, "error 410")) == 7, "every 410 served")
    assert faults.rules() == []


def test_latency_slows_matching_requests_only(devcluster: DevCluster, kubectl: Kubectl) -> None:
    kubectl("create", "configmap", "slow")
    devcluster.services.faults.add_latency(0.5, verb="get", resource="configmaps", count=1)
    url = f"{devcluster.url}/api/v1/namespaces/default/configmaps/slow"
    headers = {"Authorization": f"Bearer {devcluster.token}"}
    started = time.monotonic()
    assert httpx.get(url, headers=headers).status_code == 200
    assert time.monotonic() - started >= 0.5
    assert [r.name for r in _faults_logged(devcluster, "latency 0.5s")] == ["slow"]


def test_killing_a_pod_process_fails_the_pod_and_the_job_retries(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    code = "import time; print('running', flush=True); time.sleep(120)"
    apply(kubectl, python_job("doomed", code, activeDeadlineSeconds=120))
    pod = wait_for(
        lambda: [p for p in job_pods(kubectl, "doomed") if p["status"]["phase"] == "Running"],
        "the pod to run",
    )[0]["metadata"]["name"]

    assert devcluster.services.faults.kill_pod("default", pod)

    def killed() -> dict[str, Any] | None:
        state = get_json(kubectl, "pod", pod)["status"]["containerStatuses"][0]["state"]
        terminated: dict[str, Any] | None = state.get("terminated")
        return terminated

    terminated = wait_for(killed, "the pod to fail")
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
    wait_for(lambda: len(job_pods(kubectl, "doomed")) == 2, "a replacement pod")
    assert f"kill pod default/{pod}" in devcluster.services.faults.events
    noted = [
        (r.fault, r.name) for r in devcluster.services.request_log.records() if r.verb == "inject"
    ]
    assert noted == [("kill pod process", pod)]


def test_the_admin_endpoint_injects_faults_and_lists_requests(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    admin = f"{devcluster.url}/_devcluster"
    answer = httpx.post(
        f"{admin}/faults",
        json={"action": "fail", "verb": "list", "resource": "secrets", "code": 500, "count": 1},
    )
    assert answer.status_code == 200
    failed = kubectl.run("get", "secrets", check=False)
    assert failed.returncode != 0
    assert "injected fault" in failed.stderr
    kubectl("get", "secrets")

    # kubectl never sends a bearer token over plain http: its requests are anonymous.
    log = httpx.get(f"{admin}/requests", params={"user": "system:anonymous"}).json()["items"]
    secrets = [(r["verb"], r["code"], r["fault"]) for r in log if r["resource"] == "secrets"]
    assert secrets == [("list", 500, "error 500"), ("list", 200, None)]
    bad = httpx.post(f"{admin}/faults", json={"action": "explode"})
    assert bad.status_code == 400
    assert "unknown action" in bad.json()["error"]


def test_failed_pod_status_writes_do_not_lose_the_pod(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    faults = devcluster.services.faults
    faults.fail_next(3, verb="patch", resource="pods/status", code=409)
    faults.fail_next(10, verb="patch", resource="pods/status", code=500)

    apply(kubectl, python_job("stubborn-api", "print('done anyway')"))

    kubectl("wait", "--for=condition=complete", "job/stubborn-api", "--timeout=60s")
    pod = job_pods(kubectl, "stubborn-api")[0]
    assert pod["status"]["phase"] == "Succeeded"
    assert kubectl("logs", pod["metadata"]["name"]) == "done anyway\n"
    assert faults.rules() == []


def test_a_pod_the_kubelet_cannot_bind_is_tried_again(
    devcluster: DevCluster, kubectl: Kubectl
) -> None:
    # More 500s than one round of client retries absorbs: the kubelet must come back.
    devcluster.services.faults.fail_next(12, verb="patch", resource="pods", code=500)

    apply(kubectl, python_job("patient-kubelet", "print('bound at last')"))

    kubectl("wait", "--for=condition=complete", "job/patient-kubelet", "--timeout=60s")
    assert kubectl("logs", "job/patient-kubelet") == "bound at last\n"
