"""The control plane is upstream Kubernetes: what a user types behaves as on any cluster."""

from __future__ import annotations

import dataclasses
import json
import socket
import tempfile
from pathlib import Path

import pytest
from guestbook_localcluster.controlplane import ControlPlane, ControlPlaneError
from guestbook_localcluster.kubectl import Kubectl, KubectlError
from guestbook_localcluster.upstream import KUBERNETES_VERSION, ensure_binaries


def test_version_is_the_pinned_release(kubectl: Kubectl) -> None:
    version = json.loads(kubectl("version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == KUBERNETES_VERSION
    assert version["clientVersion"]["gitVersion"] == KUBERNETES_VERSION


def test_api_resources_include_builtins_a_cluster_serves(kubectl: Kubectl) -> None:
    names = set(kubectl("api-resources", "-o", "name").split())
    for resource in (
        "daemonsets.apps",
        "replicationcontrollers",
        "nodes",
        "apiservices.apiregistration.k8s.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
        "leases.coordination.k8s.io",
    ):
        assert resource in names


def test_auth_can_i_and_default_cluster_roles(kubectl: Kubectl, namespace: str) -> None:
    assert kubectl("auth", "can-i", "create", "deployments").strip() == "yes"
    roles = set(kubectl("get", "clusterroles", "-o", "name").split())
    assert {
        "clusterrole.rbac.authorization.k8s.io/" + r for r in ("view", "edit", "admin")
    } <= roles
    # A ServiceAccount has only what it is granted.
    kubectl("create", "serviceaccount", "reader")
    result = kubectl.run(
        "auth",
        "can-i",
        "list",
        "secrets",
        f"--as=system:serviceaccount:{namespace}:reader",
        check=False,
    )
    assert result.stdout.strip() == "no"


def test_default_service_account_and_token(kubectl: Kubectl) -> None:
    # The ServiceAccount controller of kube-controller-manager makes `default`.
    kubectl("wait", "--for=create", "serviceaccount/default", "--timeout=60s")
    token = kubectl("create", "token", "default").strip()
    assert token.count(".") == 2  # a signed JWT


def test_create_deployment_and_role(kubectl: Kubectl) -> None:
    kubectl("create", "deployment", "web", "--image=guestbook-ledger-web", "--replicas=2")
    kubectl("create", "role", "reader", "--verb=get", "--resource=pods")
    # The Deployment controller makes a ReplicaSet, which makes the pods.
    kubectl(
        "wait",
        "--for=jsonpath={.status.replicas}=2",
        "replicaset",
        "-l",
        "app=web",
        "--timeout=60s",
    )
    pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json"))["items"]
    assert len(pods) == 2


def test_secret_with_invalid_base64_is_refused(kubectl: Kubectl) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "bad"},
        "data": {"key": "not base64!"},
    }
    result = kubectl.run("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert result.returncode != 0
    assert "illegal base64" in result.stderr


def test_pod_naming_a_missing_service_account_is_refused(kubectl: Kubectl) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lost"},
        "spec": {
            "serviceAccountName": "nobody",
            "containers": [{"name": "main", "image": "guestbook-ledger-operator"}],
        },
    }
    result = kubectl.run("create", "-f", "-", input=json.dumps(manifest), check=False)
    assert result.returncode != 0
    assert 'serviceaccount "nobody" not found' in result.stderr


def test_restricted_pod_security_refuses_a_privileged_pod(kubectl: Kubectl, namespace: str) -> None:
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("wait", "--for=create", "serviceaccount/default", "--timeout=60s")
    result = kubectl.run(
        "run", "plain", "--image=guestbook-ledger-operator", "--restart=Never", check=False
    )
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr


def test_server_side_apply_conflicts(kubectl: Kubectl) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"k": "a"},
    }
    kubectl("apply", "--server-side", "--field-manager=one", "-f", "-", input=json.dumps(config))
    config["data"] = {"k": "b"}
    result = kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=two",
        "-f",
        "-",
        input=json.dumps(config),
        check=False,
    )
    assert result.returncode != 0
    assert "conflict" in result.stderr.lower()


def test_objects_survive_a_restart_and_versions_are_checked() -> None:
    binaries = ensure_binaries()
    root = Path(tempfile.mkdtemp(prefix="guestbook-restart-"))
    plane = ControlPlane(root, binaries, durable=True, progress=lambda _: None)
    kubectl = Kubectl(plane.admin_kubeconfig, root / "cache")
    try:
        plane.start()
        kubectl("create", "configmap", "kept", "--from-literal=k=v")
        plane.stop()
        plane.start()
        assert kubectl("get", "configmap", "kept", "-o", "jsonpath={.data.k}") == "v"
    finally:
        plane.stop()
    state = json.loads((root / "cluster.json").read_text())
    state["kubernetes"] = "v1.0.0"
    (root / "cluster.json").write_text(json.dumps(state))
    with pytest.raises(ControlPlaneError, match=r"was made by Kubernetes v1\.0\.0"):
        ControlPlane(root, binaries)


def test_a_taken_port_is_a_clear_error_and_leaves_nothing_running() -> None:
    binaries = ensure_binaries()
    root = Path(tempfile.mkdtemp(prefix="guestbook-port-"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plane = ControlPlane(root, binaries, apiserver_port=port, progress=lambda _: None)
        with pytest.raises(ControlPlaneError, match=f"Port {port} .* is taken"):
            plane.start()
        assert not any(p.running for p in plane.processes.values())


def test_kubectl_runs_as_long_as_its_own_timeout_says(kubectl: Kubectl) -> None:
    """A wait longer than the wrapper's limit is ended by kubectl, saying why,
    not killed by the wrapper."""
    impatient = dataclasses.replace(kubectl, timeout=1.0)
    with pytest.raises(KubectlError, match="timed out"):
        impatient("wait", "--for=create", "configmap/never-made", "--timeout=4s")
