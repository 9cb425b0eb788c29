"""``--data-dir``: the API server stops and starts again with everything it had."""

from __future__ import annotations

import json
from pathlib import Path

from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from job_manifests import apply, condition, get_json, job_pods, python_job, wait_for
from kubernetes import client, config, watch


def _kubectl(cluster: DevCluster, tmp_path: Path) -> Kubectl:
    return Kubectl(cluster.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")


def test_objects_versions_jobs_and_logs_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with DevCluster(data_dir=data) as first:
        kubectl = _kubectl(first, tmp_path)
        kubectl("create", "configmap", "settings", "--from-literal=mode=fast")
        apply(kubectl, python_job("done", "print('made it')"))
        kubectl("wait", "--for=condition=complete", "job/done", "--timeout=60s")
        before = get_json(kubectl, "job", "done")
        pod = job_pods(kubectl, "done")[0]["metadata"]["name"]
        port = first.port

    with DevCluster(port=port, data_dir=data) as second:
        kubectl = _kubectl(second, tmp_path)
        after = get_json(kubectl, "job", "done")
        assert after["metadata"]["uid"] == before["metadata"]["uid"]
        assert after["status"] == before["status"]
        assert condition(after, "Complete") is not None
        assert kubectl("logs", pod) == "made it\n"
        settings = get_json(kubectl, "configmap", "settings")
        assert settings["data"] == {"mode": "fast"}
        kubectl("create", "configmap", "later")
        later = get_json(kubectl, "configmap", "later")
        assert int(later["metadata"]["resourceVersion"]) > int(after["metadata"]["resourceVersion"])


def test_a_watch_resumes_after_a_restart_from_its_last_resource_version(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with DevCluster(data_dir=data) as first:
        kubectl = _kubectl(first, tmp_path)
        kubectl("create", "configmap", "one")
        last_seen = get_json(kubectl, "configmap", "one")["metadata"]["resourceVersion"]
        port = first.port

    with DevCluster(port=port, data_dir=data) as second:
        kubectl = _kubectl(second, tmp_path)
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubectl.kubeconfig)
        )
        core = client.CoreV1Api(api)
        kubectl("create", "configmap", "two")
        seen = [
            (event["type"], event["object"].metadata.name)
            for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
                core.list_namespaced_config_map,
                "default",
                resource_version=last_seen,
                timeout_seconds=2,
            )
        ]
        api.close()  # type: ignore[no-untyped-call]
        assert ("ADDED", "two") in seen
        assert ("ADDED", "one") not in seen


def test_a_pod_running_during_a_restart_is_reported_lost_and_replaced(
    tmp_path: Path,
) -> None:
    data, release = tmp_path / "data", tmp_path / "release"
    code = (
        "import os, time\n"
        f"while not os.path.exists({str(release)!r}): time.sleep(0.05)\n"
        "print('finished')\n"
    )
    with DevCluster(data_dir=data) as first:
        kubectl = _kubectl(first, tmp_path)
        apply(kubectl, python_job("survivor", code))
        wait_for(
            lambda: [p for p in job_pods(kubectl, "survivor") if p["status"]["phase"] == "Running"],
            "the pod to run",
        )
        port = first.port

    release.touch()
    with DevCluster(port=port, data_dir=data) as second:
        kubectl = _kubectl(second, tmp_path)
        kubectl("wait", "--for=condition=complete", "job/survivor", "--timeout=60s")
        job = get_json(kubectl, "job", "survivor")
        assert (job["status"]["succeeded"], job["status"]["failed"]) == (1, 1)
        ends = {
            p["metadata"]["name"]: p["status"]["containerStatuses"][0]["state"]["terminated"]
            for p in job_pods(kubectl, "survivor")
        }
        assert sorted(t["reason"] for t in ends.values()) == [
            "Completed",
            "ContainerStatusUnknown",
        ]
        replacement = next(name for name, t in ends.items() if t["reason"] == "Completed")
        assert kubectl("logs", replacement) == "finished\n"
        assert json.loads(kubectl("get", "job", "survivor", "-o", "json"))["status"]["active"] == 0


def test_pods_of_a_job_deleted_while_no_runner_ran_are_released_at_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    code = "import time; time.sleep(120)"
    with DevCluster(data_dir=data) as first:
        kubectl = _kubectl(first, tmp_path)
        apply(kubectl, python_job("orphaned", code))
        wait_for(
            lambda: [p for p in job_pods(kubectl, "orphaned") if p["status"]["phase"] == "Running"],
            "the pod to run",
        )
        port = first.port

    with DevCluster(port=port, data_dir=data, job_runner=False) as second:
        kubectl = _kubectl(second, tmp_path)
        kubectl("delete", "job", "orphaned", "--wait=false")
        held = job_pods(kubectl, "orphaned")
        assert [p["metadata"].get("deletionTimestamp") is not None for p in held] == [True]

    with DevCluster(port=port, data_dir=data) as third:
        kubectl = _kubectl(third, tmp_path)
        wait_for(lambda: not job_pods(kubectl, "orphaned"), "the orphaned pod to go")
