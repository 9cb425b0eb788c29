"""Jobs run their pods as local processes; users see it all through kubectl and the client."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from guestbook_devcluster.kubectl import Kubectl
from job_manifests import (
    WAIT_SECONDS,
    apply,
    condition,
    get_json,
    job_pods,
    python_job,
    wait_for,
)
from kubernetes import client, watch


def _pid(pod: dict[str, Any]) -> int:
    container_id = str(pod["status"]["containerStatuses"][0]["containerID"])
    return int(container_id.removeprefix("local://"))


def _running(pod: dict[str, Any]) -> bool:
    return bool(pod["status"].get("phase") == "Running")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_job_runs_its_pods_to_completion_and_kubectl_logs_shows_their_output(
    kubectl: Kubectl,
) -> None:
    code = "import os; print('hello from', os.environ['HOSTNAME'])"
    apply(kubectl, python_job("hello", code, completions=3, parallelism=2))

    kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=60s")

    job = get_json(kubectl, "job", "hello")
    assert job["status"]["succeeded"] == 3
    assert job["status"].get("failed", 0) == 0
    assert job["status"]["active"] == 0
    assert job["status"]["completionTime"] >= job["status"]["startTime"]
    pods = job_pods(kubectl, "hello")
    assert len(pods) == 3
    for pod in pods:
        meta = pod["metadata"]
        assert meta["generateName"] == "hello-"
        assert meta["labels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
        assert meta["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
        assert pod["status"]["phase"] == "Succeeded"
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
        assert pod["status"]["podIP"] == "127.0.0.1"
        assert kubectl("logs", meta["name"]) == f"hello from {meta['name']}\n"
    table = kubectl("get", "pods", "-l", "job-name=hello")
    assert table.count("Completed") == 3


def test_failed_pods_are_retried_until_the_backoff_limit_fails_the_job(
    kubectl: Kubectl, api_client: client.ApiClient
) -> None:
    code = "import sys; print('giving up'); sys.exit(3)"
    apply(kubectl, python_job("flaky", code, backoffLimit=2))

    batch = client.BatchV1Api(api_client)

    def failed_job() -> client.V1Job | None:
        job: client.V1Job = batch.read_namespaced_job("flaky", "default")
        conditions = job.status.conditions if job.status else None
        return job if any(c.type == "Failed" for c in conditions or []) else None

    job = wait_for(failed_job, "the Job to fail")
    assert job.status is not None
    failed = next(c for c in job.status.conditions or [] if c.type == "Failed")
    assert failed.reason == "BackoffLimitExceeded"
    assert job.status.failed == 3
    assert not job.status.succeeded
    pods = job_pods(kubectl, "flaky")
    assert len(pods) == 3
    described = kubectl("describe", "job", "flaky")
    for pod in pods:
        assert f"Created pod: {pod['metadata']['name']}" in described
    assert "Job has reached the specified backoff limit" in described
    for pod in pods:
        terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (pod["status"]["phase"], terminated["exitCode"], terminated["reason"]) == (
            "Failed",
            3,
            "Error",
        )


def test_active_deadline_fails_the_job_and_stops_its_pods(kubectl: Kubectl) -> None:
    code = "import time; print('started', flush=True); time.sleep(120)"
    apply(kubectl, python_job("slow", code, activeDeadlineSeconds=2))
    pod = wait_for(
        lambda: [p for p in job_pods(kubectl, "slow") if p["status"]["phase"] == "Running"],
        "the pod to run",
    )[0]
    pid = _pid(pod)

    kubectl("wait", "--for=condition=failed", "job/slow", "--timeout=60s")

    job = get_json(kubectl, "job", "slow")
    assert condition(job, "Failed")["reason"] == "DeadlineExceeded"  # type: ignore[index]
    wait_for(lambda: not _alive(pid), "the pod's process to end")


def test_scaling_parallelism_starts_pods_and_stops_the_newest(
    kubectl: Kubectl, marker_dir: Path
) -> None:
    release = marker_dir / "release"
    code = (
        "import os, time\n"
        f"while not os.path.exists({str(release)!r}): time.sleep(0.05)\n"
        "print('done')\n"
    )
    apply(kubectl, python_job("pool", code, parallelism=1, completions=None))
    wait_for(lambda: get_json(kubectl, "job", "pool")["status"].get("active") == 1, "1 pod")
    first = job_pods(kubectl, "pool")[0]["metadata"]
    # creationTimestamp has whole seconds: let the clock pass it so "newest" is well defined.
    wait_for(
        lambda: (
            datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            > first["creationTimestamp"]
        ),
        "the next second",
    )

    kubectl("patch", "job", "pool", "--type=merge", "-p", '{"spec":{"parallelism":3}}')

    def three_running() -> list[dict[str, Any]] | None:
        running = [p for p in job_pods(kubectl, "pool") if p["status"]["phase"] == "Running"]
        return running if len(running) == 3 else None

    running = wait_for(three_running, "3 running pods")
    oldest = first["name"]
    assert running[0]["metadata"]["name"] == oldest
    newest_pids = [_pid(p) for p in running[1:]]

    kubectl("patch", "job", "pool", "--type=merge", "-p", '{"spec":{"parallelism":1}}')
    wait_for(
        lambda: [p["metadata"]["name"] for p in job_pods(kubectl, "pool")] == [oldest],
        "the two newest pods to be deleted",
    )
    wait_for(lambda: not any(_alive(pid) for pid in newest_pids), "their processes to end")
    assert get_json(kubectl, "job", "pool")["status"].get("failed", 0) == 0

    release.touch()
    kubectl("wait", "--for=condition=complete", "job/pool", "--timeout=60s")
    assert get_json(kubectl, "job", "pool")["status"]["succeeded"] == 1


def test_indexed_job_gives_each_pod_its_completion_index(kubectl: Kubectl) -> None:
    code = "import os; print('index', os.environ['JOB_COMPLETION_INDEX'])"
    apply(
        kubectl,
        python_job("indexed", code, completions=3, parallelism=3, completionMode="Indexed"),
    )
    kubectl("wait", "--for=condition=complete", "job/indexed", "--timeout=60s")

    job = get_json(kubectl, "job", "indexed")
    assert job["status"]["completedIndexes"] == "0-2"
    assert job["status"]["succeeded"] == 3
    seen = set()
    for pod in job_pods(kubectl, "indexed"):
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert pod["metadata"]["name"].startswith(f"indexed-{index}-")
        assert kubectl("logs", pod["metadata"]["name"]) == f"index {index}\n"
        seen.add(index)
    assert seen == {"0", "1", "2"}


def test_deleting_a_pod_terminates_its_process_and_the_job_replaces_it(
    kubectl: Kubectl, marker_dir: Path
) -> None:
    stopped = marker_dir / "stopped"
    code = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(stopped)!r}, 'a').write('SIGTERM\\n'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    apply(kubectl, python_job("victim", code, backoffLimit=5))
    first = _ready_pod(kubectl, "victim")
    pid = _pid(first)

    kubectl("delete", "pod", first["metadata"]["name"], "--timeout=60s")

    assert stopped.read_text() == "SIGTERM\n"
    assert not _alive(pid)
    replacement = wait_for(
        lambda: [
            p
            for p in job_pods(kubectl, "victim")
            if p["metadata"]["name"] != first["metadata"]["name"]
        ],
        "a replacement pod",
    )
    assert replacement[0]["metadata"]["generateName"] == "victim-"
    wait_for(lambda: get_json(kubectl, "job", "victim")["status"].get("failed") == 1, "failed=1")


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period(kubectl: Kubectl) -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    apply(kubectl, python_job("stubborn", code))
    pod = _ready_pod(kubectl, "stubborn")
    pid = _pid(pod)

    kubectl("delete", "pod", pod["metadata"]["name"], "--grace-period=1", "--timeout=60s")

    wait_for(lambda: not _alive(pid), "the process to be killed")


def test_environment_comes_from_secrets_configmaps_and_the_downward_api(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "secret", "generic", "db", "--from-literal=password=s3cret")
    kubectl("create", "configmap", "settings", "--from-literal=LEVEL=debug")
    code = (
        "import os, sys\n"
        "for k in ('PASSWORD', 'LEVEL', 'CFG_LEVEL', 'POD', 'NS', 'APP', 'GREETING'):\n"
        "    print(k, os.environ[k])\n"
        "print('args', *sys.argv[1:])\n"
    )
    container = {
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {
                "name": "LEVEL",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LEVEL"}},
            },
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "GREETING", "value": "hi $(POD)"},
        ],
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "args": ["$(LEVEL)", "$(HOSTNAME)", "$$(LEVEL)"],
    }
    job = python_job("envy", code, container=container)
    job["spec"]["template"]["metadata"] = {"labels": {"app": "ledger"}}
    apply(kubectl, job)
    kubectl("wait", "--for=condition=complete", "job/envy", "--timeout=60s")

    pod = job_pods(kubectl, "envy")[0]["metadata"]["name"]
    assert kubectl("logs", pod).splitlines() == [
        "PASSWORD s3cret",
        "LEVEL debug",
        "CFG_LEVEL debug",
        f"POD {pod}",
        "NS default",
        "APP ledger",
        f"GREETING hi {pod}",
        "args debug $(HOSTNAME) $(LEVEL)",  # only the container's own env expands
    ]


def test_a_missing_secret_keeps_the_pod_waiting_until_it_exists(kubectl: Kubectl) -> None:
    code = "import os; print(os.environ['TOKEN'])"
    container = {
        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "late", "key": "t"}}}]
    }
    apply(kubectl, python_job("patient", code, container=container))
    waiting = wait_for(
        lambda: [
            s["state"]["waiting"]
            for p in job_pods(kubectl, "patient")
            for s in p["status"].get("containerStatuses") or []
            if s["state"].get("waiting", {}).get("reason") == "CreateContainerConfigError"
        ],
        "CreateContainerConfigError",
    )
    assert waiting[0]["message"] == 'secret "late" not found'

    kubectl("create", "secret", "generic", "late", "--from-literal=t=finally")
    kubectl("wait", "--for=condition=complete", "job/patient", "--timeout=60s")
    assert kubectl("logs", "job/patient") == "finally\n"


def test_a_command_that_does_not_exist_fails_the_pod_with_a_clear_reason(
    kubectl: Kubectl,
) -> None:
    job = python_job("typo", "", backoffLimit=0, container={"command": ["guestbook-ledgr", "run"]})
    apply(kubectl, job)
    kubectl("wait", "--for=condition=failed", "job/typo", "--timeout=60s")

    pod = job_pods(kubectl, "typo")[0]
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert pod["status"]["phase"] == "Failed"
    assert terminated["reason"] == "ContainerCannotRun"
    assert 'executable "guestbook-ledgr" not found in $PATH' in terminated["message"]
    described = kubectl("describe", "pod", pod["metadata"]["name"])
    assert "ContainerCannotRun" in described
    events = get_json(kubectl, "events", "--field-selector", "reason=Failed")["items"]
    assert [e["involvedObject"]["name"] for e in events] == [pod["metadata"]["name"]]
    assert 'executable "guestbook-ledgr" not found' in events[0]["message"]


def test_pods_reach_the_api_as_their_service_account_and_find_project_commands(
    kubectl: Kubectl,
) -> None:
    code = (
        "import shutil\n"
        "from kubernetes import client, config\n"
        "config.load_config()\n"
        "pods = client.CoreV1Api().list_namespaced_pod('default').items\n"
        "print(len(pods), 'pods;', 'cli at', shutil.which('guestbook-ledger'))\n"
    )
    apply(kubectl, python_job("insider", code))
    kubectl("wait", "--for=condition=complete", "job/insider", "--timeout=60s")

    venv_bin = os.path.dirname(sys.executable)
    assert kubectl("logs", "job/insider") == f"1 pods; cli at {venv_bin}/guestbook-ledger\n"


def test_kubectl_logs_follow_streams_output_while_the_pod_runs(
    kubectl: Kubectl, marker_dir: Path
) -> None:
    go = marker_dir / "go"
    code = (
        "import os, time\n"
        "print('first', flush=True)\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
        "print('second', flush=True)\n"
    )
    apply(kubectl, python_job("chatty", code))
    pod = wait_for(
        lambda: [p for p in job_pods(kubectl, "chatty") if "first" in _logs(kubectl, p)],
        "the first line",
    )[0]["metadata"]["name"]

    with subprocess.Popen(
        [*_kubectl_argv(kubectl), "logs", "-f", pod],
        stdout=subprocess.PIPE,
        text=True,
    ) as follower:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first\n"
        go.touch()
        rest, _ = follower.communicate(timeout=60)
    assert rest == "second\n"
    assert follower.returncode == 0


def _ready_pod(kubectl: Kubectl, job: str) -> dict[str, Any]:
    """The Job's pod once it is Running and has printed "ready" (its signal handler is set)."""

    def ready() -> dict[str, Any] | None:
        for pod in job_pods(kubectl, job):
            if _running(pod) and "ready" in _logs(kubectl, pod):
                return pod
        return None

    return wait_for(ready, "the pod to run and print ready")


def _logs(kubectl: Kubectl, pod: dict[str, Any]) -> str:
    result = kubectl.run("logs", str(pod["metadata"]["name"]), check=False)
    return result.stdout if result.returncode == 0 else ""


def _kubectl_argv(kubectl: Kubectl) -> list[str]:
    from guestbook_devcluster.kubectl import kubectl_binary

    return [
        kubectl_binary(),
        f"--kubeconfig={kubectl.kubeconfig}",
        f"--cache-dir={kubectl.cache_dir}",
    ]


def test_deleting_a_job_stops_and_removes_its_pods(kubectl: Kubectl) -> None:
    code = "import time; print('up', flush=True); time.sleep(120)"
    apply(kubectl, python_job("doomed", code, parallelism=2, completions=2))

    def two_running() -> list[dict[str, Any]] | None:
        running = [p for p in job_pods(kubectl, "doomed") if p["status"]["phase"] == "Running"]
        return running if len(running) == 2 else None

    pids = [_pid(p) for p in wait_for(two_running, "2 running pods")]

    kubectl("delete", "job", "doomed", "--timeout=60s")

    wait_for(lambda: not job_pods(kubectl, "doomed"), "the pods to be removed")
    wait_for(lambda: not any(_alive(pid) for pid in pids), "their processes to end")


def test_a_finished_job_is_deleted_after_its_ttl(
    kubectl: Kubectl, api_client: client.ApiClient
) -> None:
    # A watch opened before the Job exists sees every change, however fast: with a
    # 1 s TTL, polling could miss the Complete Job entirely (it was flaky so).
    batch = client.BatchV1Api(api_client)
    start = batch.list_namespaced_job("default").metadata.resource_version  # type: ignore[union-attr]
    apply(kubectl, python_job("brief", "print('bye')", ttlSecondsAfterFinished=1))

    seen: list[tuple[str, bool]] = []  # (event type, Job complete)
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(  # type: ignore[no-untyped-call]
        batch.list_namespaced_job,
        "default",
        field_selector="metadata.name=brief",
        resource_version=start,
        timeout_seconds=int(WAIT_SECONDS),
    ):
        job = api_client.sanitize_for_serialization(event["object"])  # type: ignore[no-untyped-call]
        seen.append((event["type"], condition(job, "Complete") is not None))
        if event["type"] == "DELETED":
            stream.stop()  # type: ignore[no-untyped-call]

    assert seen[0] == ("ADDED", False)
    assert seen[-1] == ("DELETED", True)
    assert ("MODIFIED", True) in seen  # it completed before it was deleted
    assert kubectl.run("get", "job", "brief", check=False).returncode != 0


def test_a_suspended_job_starts_no_pods_until_resumed(kubectl: Kubectl) -> None:
    apply(kubectl, python_job("held", "print('resumed')", suspend=True))
    wait_for(lambda: condition(get_json(kubectl, "job", "held"), "Suspended"), "Suspended")
    assert job_pods(kubectl, "held") == []

    kubectl("patch", "job", "held", "--type=merge", "-p", '{"spec":{"suspend":false}}')

    kubectl("wait", "--for=condition=complete", "job/held", "--timeout=60s")
    assert kubectl("logs", "job/held") == "resumed\n"
