"""The process kubelet on the real control plane, driven as a user drives a cluster: kubectl.

Every wait is bounded (``kubectl wait --timeout``, ``wait_for``); nothing
asserts on how long something took.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from guestbook_localcluster.controlplane import ControlPlane, free_port
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.kubelet import Kubelet
from guestbook_localcluster.waiting import wait_until
from kubelet_fixtures import NODE, SampleImages, kubelet_config

pytestmark = pytest.mark.usefixtures("process_kubelet")

WAIT = "--timeout=90s"


def pod(
    name: str,
    image: str = "local/python:1",
    *,
    command: list[str] | None = None,
    args: list[str] | None = None,
    restart: str = "Never",
    **spec: Any,
) -> str:
    container: dict[str, Any] = {"name": spec.pop("container_name", "main"), "image": image}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    container.update(spec.pop("container", {}))
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": restart, "containers": [container], **spec},
    }
    return json.dumps(manifest)


def python(code: str) -> list[str]:
    return ["python", "-c", code]


@pytest.fixture
def k(kubectl: Kubectl) -> Kubectl:
    """kubectl in a namespace whose `default` ServiceAccount exists (pods need it)."""
    kubectl("wait", "--for=create", "serviceaccount/default", WAIT)
    return kubectl


def wait_phase(k: Kubectl, name: str, phase: str) -> None:
    k("wait", f"--for=jsonpath={{.status.phase}}={phase}", f"pod/{name}", WAIT)


def get(k: Kubectl, *what: str) -> Any:
    return json.loads(k("get", *what, "-o", "json"))


def test_node_registers_with_lease_and_conditions(admin_kubectl: Kubectl) -> None:
    node = get(admin_kubectl, "node", NODE)
    conditions = {c["type"]: c["status"] for c in node["status"]["conditions"]}
    assert conditions == {
        "Ready": "True",
        "MemoryPressure": "False",
        "DiskPressure": "False",
        "PIDPressure": "False",
    }
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
    assert int(node["status"]["allocatable"]["pods"]) > 0
    lease = get(admin_kubectl, "lease", NODE, "-n", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == NODE
    assert lease["metadata"]["ownerReferences"][0]["name"] == NODE


def test_pod_succeeds_with_its_output_in_kubectl_logs(k: Kubectl) -> None:
    code = "import os; print('line one'); print('greeting', os.environ['IMAGE_GREETING'])"
    k("apply", "-f", "-", input=pod("hello", args=["-c", code]))
    wait_phase(k, "hello", "Succeeded")
    assert k("logs", "hello") == "line one\ngreeting from the image\n"
    assert k("logs", "hello", "--tail=1") == "greeting from the image\n"
    stamped = k("logs", "hello", "--timestamps").splitlines()
    assert stamped[0].endswith(" line one") and stamped[0][:4].isdigit() and "T" in stamped[0]
    status = get(k, "pod", "hello")["status"]
    # A loopback address of the kubelet's own range 127.N.0.0/16, N >= 1.
    assert ipaddress.ip_address(status["podIP"]) in ipaddress.ip_network("127.0.0.0/8")
    assert not status["podIP"].startswith("127.0.")
    assert status["hostIP"] == "127.0.0.1"
    container = status["containerStatuses"][0]
    assert container["state"]["terminated"]["reason"] == "Completed"
    assert container["containerID"].startswith("process://")
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions["PodScheduled"] == "True" and conditions["Ready"] == "False"


def test_image_cmd_runs_when_the_pod_sets_no_command(k: Kubectl) -> None:
    k("run", "plain", "--image=local/python:1", "--restart=Never")
    wait_phase(k, "plain", "Succeeded")
    assert k("logs", "plain") == "hello from the image\n"


def test_logs_follow_streams_until_the_container_ends(k: Kubectl, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    code = (
        "import os, time\n"
        "print('before', flush=True)\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.05)\n"
        "print('after', flush=True)\n"
    )
    k("apply", "-f", "-", input=pod("follow", command=python(code)))
    wait_phase(k, "follow", "Running")
    follower = subprocess.Popen(
        k.command("logs", "-f", "follow"), stdout=subprocess.PIPE, text=True
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "before\n"  # streamed while it runs
        gate.touch()
        out, _ = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert out == "after\n"
    assert follower.returncode == 0


def test_restart_on_failure_keeps_previous_logs(k: Kubectl) -> None:
    # The emptyDir mounted at /data is a folder of the pod; /data in args is rewritten to it.
    code = (
        "import os, sys\n"
        "marker = os.path.join(sys.argv[1], 'ran')\n"
        "if os.path.exists(marker): print('second run'); sys.exit(0)\n"
        "open(marker, 'w').close(); print('first run'); sys.exit(3)\n"
    )
    manifest = pod(
        "flaky",
        command=["python", "-c", code, "/data"],
        restart="OnFailure",
        volumes=[{"name": "scratch", "emptyDir": {}}],
        container={"volumeMounts": [{"name": "scratch", "mountPath": "/data"}]},
    )
    k("apply", "-f", "-", input=manifest)
    wait_phase(k, "flaky", "Succeeded")
    container = get(k, "pod", "flaky")["status"]["containerStatuses"][0]
    assert container["restartCount"] == 1
    assert container["lastState"]["terminated"]["exitCode"] == 3
    assert k("logs", "flaky") == "second run\n"
    assert k("logs", "flaky", "--previous") == "first run\n"


def test_two_containers_run_side_by_side(k: Kubectl) -> None:
    manifest = json.loads(pod("pair", command=python("print('from a')"), container_name="a"))
    manifest["spec"]["containers"].append(
        {"name": "b", "image": "local/python:1", "command": python("print('from b')")}
    )
    k("apply", "-f", "-", input=json.dumps(manifest))
    wait_phase(k, "pair", "Succeeded")
    assert k("logs", "pair", "-c", "a") == "from a\n"
    assert k("logs", "pair", "-c", "b") == "from b\n"


def test_deployment_becomes_available_and_pods_share_a_port(k: Kubectl) -> None:
    k("create", "deployment", "web", "--image=local/http:1", "--replicas=2", "--port=8080")
    k("rollout", "status", "deployment/web", WAIT)
    # A readiness probe: the rollout waits for it, on each pod's own IP.
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "http", "readinessProbe": probe}]}}}
    }
    k("patch", "deployment", "web", "--type=strategic", "-p", json.dumps(patch))
    k("rollout", "status", "deployment/web", WAIT)
    wait_until(
        lambda: len(get(k, "pods", "-l", "app=web")["items"]) == 2,
        timeout=90,
        what="the old ReplicaSet's pods to go",
    )
    pods = get(k, "pods", "-l", "app=web")["items"]
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 2  # two pods, one port, two addresses
    for ip in ips:
        with urllib.request.urlopen(f"http://{ip}:8080/", timeout=10) as response:
            assert response.status == 200
    assert all(p["status"]["containerStatuses"][0]["ready"] for p in pods)


def test_job_completes_through_the_job_controller(k: Kubectl) -> None:
    k("create", "job", "once", "--image=local/python:1", "--", "python", "-c", "print('job ran')")
    k("wait", "--for=condition=Complete", "job/once", WAIT)
    assert k("logs", "job/once") == "job ran\n"


def test_deleting_a_pod_terminates_its_process_gracefully(k: Kubectl, tmp_path: Path) -> None:
    record = tmp_path / "record"
    code = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(record)!r}, 'w').write('got SIGTERM'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "print('serving', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    k("apply", "-f", "-", input=pod("graceful", command=python(code)))
    wait_phase(k, "graceful", "Running")
    k("wait", "--for=jsonpath={.status.containerStatuses[0].started}=true", "pod/graceful", WAIT)
    pid = int(get(k, "pod", "graceful")["status"]["containerStatuses"][0]["containerID"][10:])
    k("delete", "pod", "graceful", WAIT)  # returns once the kubelet removed it
    assert record.read_text() == "got SIGTERM"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_unknown_image_fails_like_err_image_pull(k: Kubectl) -> None:
    k("run", "nope", "--image=local/missing:1", "--restart=Never")
    k(
        "wait",
        "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ErrImagePull",
        "pod/nope",
        WAIT,
    )
    waiting = get(k, "pod", "nope")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert "has no local environment" in waiting["message"]
    k(
        "wait",
        "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
        "pod/nope",
        WAIT,
    )


def test_missing_service_account_is_refused_by_the_api_server(k: Kubectl) -> None:
    manifest = pod("lonely", serviceAccountName="missing")
    result = k.run("apply", "-f", "-", input=manifest, check=False)
    assert result.returncode != 0
    assert 'serviceaccount "missing" not found' in result.stderr


def test_exec_answers_not_supported(k: Kubectl) -> None:
    code = "import time\nwhile True: time.sleep(1)"
    k("apply", "-f", "-", input=pod("busy", command=python(code)))
    wait_phase(k, "busy", "Running")
    result = k.run("exec", "busy", "--", "true", check=False)
    assert result.returncode != 0
    assert "not supported by the local process kubelet" in result.stderr


def test_pod_reaches_the_api_as_its_service_account(k: Kubectl, namespace: str) -> None:
    # The kubeconfig holds the projected token (TokenRequest, bound to the pod) and the CA.
    code = (
        "import json, os, ssl, urllib.request, yaml\n"
        "config = yaml.safe_load(open(os.environ['KUBECONFIG']))\n"
        "cluster, user = config['clusters'][0]['cluster'], config['users'][0]['user']\n"
        "context = ssl.create_default_context(cafile=cluster['certificate-authority'])\n"
        "token = open(user['tokenFile']).read()\n"
        "body = json.dumps({'apiVersion': 'authentication.k8s.io/v1',"
        " 'kind': 'SelfSubjectReview'}).encode()\n"
        "request = urllib.request.Request("
        "cluster['server'] + '/apis/authentication.k8s.io/v1/selfsubjectreviews', body,"
        " {'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})\n"
        "review = json.load(urllib.request.urlopen(request, context=context))\n"
        "print(review['status']['userInfo']['username'])\n"
        "print(os.environ['POD_IP'], os.environ['NODE'], os.environ['KUBERNETES_SERVICE_HOST'])\n"
    )
    env = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
    ]
    k("apply", "-f", "-", input=pod("whoami", command=python(code), container={"env": env}))
    wait_phase(k, "whoami", "Succeeded")
    ip = get(k, "pod", "whoami")["status"]["podIP"]
    assert k("logs", "whoami").splitlines() == [
        f"system:serviceaccount:{namespace}:default",
        f"{ip} {NODE} 127.0.0.1",
    ]


def test_automount_false_gives_no_token(k: Kubectl) -> None:
    code = "import os; print(os.environ.get('KUBECONFIG', 'no kubeconfig'))"
    manifest = pod("untokened", command=python(code), automountServiceAccountToken=False)
    k("apply", "-f", "-", input=manifest)
    wait_phase(k, "untokened", "Succeeded")
    assert k("logs", "untokened") == "no kubeconfig\n"


def test_env_from_secret_and_config_map(k: Kubectl) -> None:
    k("create", "secret", "generic", "creds", "--from-literal=password=s3cret")
    k("create", "configmap", "settings", "--from-literal=MODE=fast")
    code = "import os; print(os.environ['PASSWORD'], os.environ['MODE'])"
    env = [
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}}
    ]
    container = {"env": env, "envFrom": [{"configMapRef": {"name": "settings"}}]}
    k("apply", "-f", "-", input=pod("configured", command=python(code), container=container))
    wait_phase(k, "configured", "Succeeded")
    assert k("logs", "configured") == "s3cret fast\n"


def test_killed_process_is_restarted(k: Kubectl, namespace: str, process_kubelet: Kubelet) -> None:
    code = "import time\nprint('up', flush=True)\nwhile True: time.sleep(1)"
    k("apply", "-f", "-", input=pod("victim", command=python(code), restart="Always"))
    k("wait", "--for=condition=Ready", "pod/victim", WAIT)
    assert process_kubelet.kill_pod_process(namespace, "victim")
    k("wait", "--for=jsonpath={.status.containerStatuses[0].restartCount}=1", "pod/victim", WAIT)
    k("wait", "--for=condition=Ready", "pod/victim", WAIT)
    last = get(k, "pod", "victim")["status"]["containerStatuses"][0]["lastState"]
    assert last["terminated"]["exitCode"] == 128 + signal.SIGKILL


def test_restarted_kubelet_reports_pods_lost_as_after_a_reboot(
    control_plane: ControlPlane, admin_kubectl: Kubectl, k: Kubectl, tmp_path: Path
) -> None:
    node = "reboot-node"
    config = kubelet_config(control_plane, node, tmp_path / "kubelet", free_port())
    first = Kubelet(config, SampleImages())
    first.start_thread()
    try:
        admin_kubectl("cordon", node)  # only the pods below, which name the node, run there
        code = "import time\nwhile True: time.sleep(1)"
        for name, restart in (("never", "Never"), ("always", "Always")):
            k(
                "apply",
                "-f",
                "-",
                input=pod(name, command=python(code), restart=restart, nodeName=node),
            )
            wait_phase(k, name, "Running")
        first.stop_thread()  # its pod processes die with it
        second = Kubelet(
            kubelet_config(control_plane, node, tmp_path / "kubelet", free_port()), SampleImages()
        )
        second.start_thread()
        try:
            wait_phase(k, "never", "Failed")
            lost = get(k, "pod", "never")["status"]["containerStatuses"][0]["state"]["terminated"]
            assert lost["reason"] == "ContainerStatusUnknown"
            k(
                "wait",
                "--for=jsonpath={.status.containerStatuses[0].restartCount}=1",
                "pod/always",
                WAIT,
            )
            k("wait", "--for=condition=Ready", "pod/always", WAIT)
        finally:
            k.run("delete", "pod", "always", "never", "--grace-period=1", WAIT, check=False)
            second.stop_thread()
    finally:
        first.stop_thread()
        admin_kubectl.run("delete", "node", node, "--wait=false", check=False)


def test_pod_start_delay_shows_container_creating(
    control_plane: ControlPlane, admin_kubectl: Kubectl, k: Kubectl, tmp_path: Path
) -> None:
    node = "slow-node"
    config = kubelet_config(control_plane, node, tmp_path / "kubelet", free_port())
    config.pod_start_delay = 5.0
    slow = Kubelet(config, SampleImages())
    slow.start_thread()
    try:
        admin_kubectl("cordon", node)
        k("apply", "-f", "-", input=pod("slow", nodeName=node))
        k(
            "wait",
            "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ContainerCreating",
            "pod/slow",
            WAIT,
        )
        assert get(k, "pod", "slow")["status"]["phase"] == "Pending"
        wait_phase(k, "slow", "Succeeded")
    finally:
        slow.stop_thread()
        admin_kubectl.run("delete", "node", node, "--wait=false", check=False)
