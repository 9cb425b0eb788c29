"""The API calls worker and audit pods make (``load_kube``), against the real
API server: a pod's kubeconfig or service-account files are read without the
`kubernetes` package, the calls land where they should with the pod's own
ServiceAccount (as kube-apiserver's audit log records them) and need no more
than the chart grants workers, transient failures are retried, and a
configuration only the `kubernetes` loader understands (an exec plugin) still
works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_proxy import FaultProxy
from audit_trail import AuditTrail
from guestbook_kube.credentials import load_cluster_settings
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator import kube as kube_module
from guestbook_operator.kube import Kube, KubeError, load_kube
from service_accounts import WORKER_RULES, ServiceAccount, create_service_account

pytestmark = pytest.mark.timeout(120)


def use_kubeconfig(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process at ``path`` as a pod's environment does (no in-cluster files)."""
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    # The kubernetes client reads $KUBECONFIG once, at import.
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


@pytest.fixture
def worker(crds: Kubectl, kubectl: Kubectl, namespace: str) -> ServiceAccount:
    """Ledger ``guestbook`` in the test's namespace, and ServiceAccount ``worker``
    with the chart's worker rules."""
    ledger = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": "guestbook", "namespace": namespace},
        "spec": {},
    }
    kubectl("apply", "-f", "-", input=json.dumps(ledger))
    return create_service_account(kubectl, namespace, "worker", WORKER_RULES)


@pytest.fixture
def pod_kubeconfig(worker: ServiceAccount, control_plane: ControlPlane, tmp_path: Path) -> Path:
    """A kubeconfig with the worker's token, as a worker pod outside a cluster has."""
    return worker.kubeconfig(
        tmp_path / "pod" / "kubeconfig", control_plane.server_url, control_plane.pki.ca_cert
    )


@pytest.fixture
def kube(pod_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kube]:
    use_kubeconfig(pod_kubeconfig, monkeypatch)
    client = load_kube()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def proxied_kube(
    worker: ServiceAccount,
    fault_proxy: FaultProxy,
    control_plane: ControlPlane,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Kube]:
    """The worker's client, reaching the API server through ``fault_proxy``."""
    path = worker.kubeconfig(tmp_path / "proxied", fault_proxy.url, control_plane.pki.ca_cert)
    use_kubeconfig(path, monkeypatch)
    client = load_kube()
    try:
        yield client
    finally:
        client.close()


def create_entries(kubectl: Kubectl, names: list[str]) -> None:
    items = [
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"message": f"hello from {name}"},
        }
        for name in names
    ]
    kubectl(
        "create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )


def test_the_ledger_status_is_merged_with_the_pods_credentials(
    kube: Kube, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 3, "rootHash": "ab" * 32})
    kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 4})

    ledger = kube.get_ledger(namespace, "guestbook")
    assert ledger is not None
    assert ledger["status"]["treeSize"] == 4
    assert ledger["status"]["rootHash"] == "ab" * 32  # merged, not replaced
    assert audit.users("patch", "ledgers/status", at_least=2) == {worker.username}


def test_a_missing_ledger_is_none_to_read_and_an_error_to_update(
    kube: Kube, namespace: str
) -> None:
    assert kube.get_ledger(namespace, "nowhere") is None
    with pytest.raises(
        KubeError, match=f"Cannot update the status of Ledger {namespace}/nowhere: NotFound"
    ):
        kube.patch_ledger_status(namespace, "nowhere", {"treeSize": 1})


def test_a_call_the_role_does_not_grant_is_refused_by_name(kube: Kube, namespace: str) -> None:
    # The chart grants workers no access to Ledgers in other namespaces.
    with pytest.raises(KubeError, match="Cannot read Ledger kube-system/guestbook: Forbidden"):
        kube.get_ledger("kube-system", "guestbook")


def test_transient_errors_on_the_ledger_status_are_retried(
    proxied_kube: Kube, fault_proxy: FaultProxy, namespace: str, audit: AuditTrail
) -> None:
    fault_proxy.fail_next(2, verb="patch", resource="ledgers/status", code=503)

    proxied_kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 7})

    assert fault_proxy.faults_left() == 0
    assert fault_proxy.failed("patch", "ledgers/status") == 2
    ledger = proxied_kube.get_ledger(namespace, "guestbook")
    assert ledger is not None
    assert ledger["status"]["treeSize"] == 7
    # The third try reached the API server, once.
    assert [c.code for c in audit.calls("patch", "ledgers/status")] == [200]


def test_lasting_errors_on_the_ledger_status_raise(
    proxied_kube: Kube, fault_proxy: FaultProxy, namespace: str
) -> None:
    fault_proxy.fail_next(None, verb="patch", resource="ledgers/status", code=500)
    with pytest.raises(
        KubeError, match=f"Cannot update the status of Ledger {namespace}/guestbook"
    ):
        proxied_kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 1})
    assert fault_proxy.failed("patch", "ledgers/status") == 4  # every try


def test_entries_are_listed_page_by_page(
    kube: Kube,
    kubectl: Kubectl,
    namespace: str,
    audit: AuditTrail,
    worker: ServiceAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"entry-{i}" for i in range(7)]
    create_entries(kubectl, names)
    monkeypatch.setattr(kube_module, "_PAGE", 3)

    listed = [entry["metadata"]["name"] for entry in kube.entries(namespace)]

    assert sorted(listed) == names
    pages = audit.calls("list", "guestbookentries", at_least=3)
    assert [(c.username, c.code) for c in pages] == [(worker.username, 200)] * 3
    assert kube.get_entry(namespace, "entry-0") is not None
    assert kube.get_entry(namespace, "entry-99") is None


def test_an_event_is_recorded_about_the_ledger(
    kube: Kube, kubectl: Kubectl, namespace: str, audit: AuditTrail, worker: ServiceAccount
) -> None:
    ledger = kube.get_ledger(namespace, "guestbook")
    assert ledger is not None

    kube.post_event(ledger, type="Warning", reason="AuditMismatch", message="leaf 3 differs")

    events = json.loads(kubectl("get", "events", "-o", "json"))["items"]
    [event] = [e for e in events if e["involvedObject"]["kind"] == "Ledger"]
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning",
        "AuditMismatch",
        "leaf 3 differs",
    )
    assert event["involvedObject"]["uid"] == ledger["metadata"]["uid"]
    assert audit.users("create", "events") == {worker.username}


def run_in_a_fresh_process(kubeconfig: Path, namespace: str) -> list[Any]:
    """Patch and read the Ledger from a new Python process configured by ``kubeconfig``;
    returns [treeSize read back, whether the `kubernetes` package was imported]."""
    script = (
        "import json, sys\n"
        "from guestbook_operator.kube import load_kube\n"
        "kube = load_kube()\n"
        f"kube.patch_ledger_status({namespace!r}, 'guestbook', {{'treeSize': 2}})\n"
        f"found = kube.get_ledger({namespace!r}, 'guestbook')\n"
        "kube.close()\n"
        "print(json.dumps([found['status']['treeSize'], 'kubernetes' in sys.modules]))\n"
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found: list[Any] = json.loads(result.stdout.splitlines()[-1])
    return found


def test_a_pod_process_does_not_import_the_kubernetes_package(
    pod_kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    assert run_in_a_fresh_process(pod_kubeconfig, namespace) == [2, False]
    assert audit.users("patch", "ledgers/status") == {worker.username}


def test_a_process_kubelet_pods_kubeconfig_is_read_without_the_kubernetes_package(
    pod_kubeconfig: Path,
    worker: ServiceAccount,
    control_plane: ControlPlane,
    namespace: str,
    audit: AuditTrail,
) -> None:
    # What the process kubelet writes for a pod: the CA and the token as files.
    folder = pod_kubeconfig.parent
    (folder / "token").write_text(worker.token)
    config: dict[str, Any] = yaml.safe_load(pod_kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    del cluster["certificate-authority-data"]
    cluster["certificate-authority"] = str(control_plane.pki.ca_cert)
    config["users"][0]["user"] = {"tokenFile": str(folder / "token")}
    pod_kubeconfig.write_text(yaml.safe_dump(config))

    assert run_in_a_fresh_process(pod_kubeconfig, namespace) == [2, False]
    assert audit.users("patch", "ledgers/status") == {worker.username}


def test_a_client_certificate_kubeconfig_is_read_without_the_kubernetes_package(
    kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    # The local cluster's admin kubeconfig: inline CA, client certificate and key.
    assert run_in_a_fresh_process(kubeconfig, namespace) == [2, False]
    assert audit.users("patch", "ledgers/status") == {"kubernetes-admin"}


def test_in_a_pod_the_service_account_files_are_the_credentials(
    worker: ServiceAccount,
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    audit: AuditTrail,
) -> None:
    # What the kubelet mounts into a pod, and the service variables it sets.
    secrets = tmp_path / "serviceaccount"
    secrets.mkdir()
    (secrets / "token").write_text(worker.token)
    (secrets / "ca.crt").write_bytes(control_plane.pki.ca_cert.read_bytes())
    env = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(control_plane.ports.apiserver),
    }
    settings = load_cluster_settings(env, secrets)
    assert settings is not None

    kube = Kube(settings=settings)
    try:
        ledger = kube.get_ledger(namespace, "guestbook")
    finally:
        kube.close()

    assert ledger is not None and ledger["metadata"]["name"] == "guestbook"
    assert audit.users("get", "ledgers") == {worker.username}


def test_a_kubernetes_client_with_a_client_certificate_reaches_the_api(
    kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    # The REST client built from the `kubernetes` configuration (as the operator's
    # entry watch builds it) presents the kubeconfig's client certificate.
    from kubernetes import config

    kube = Kube(config.new_client_from_config(str(kubeconfig)))  # type: ignore[no-untyped-call]
    try:
        kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 9})
        ledger = kube.get_ledger(namespace, "guestbook")
    finally:
        kube.close()

    assert ledger is not None and ledger["status"]["treeSize"] == 9
    assert audit.users("patch", "ledgers/status") == {"kubernetes-admin"}


def test_an_exec_plugin_kubeconfig_goes_through_the_kubernetes_loader(
    pod_kubeconfig: Path,
    worker: ServiceAccount,
    namespace: str,
    audit: AuditTrail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config: dict[str, Any] = yaml.safe_load(pod_kubeconfig.read_text())
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": worker.token},
    }
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
        }
    }
    exec_config = pod_kubeconfig.with_name("exec-kubeconfig")
    exec_config.write_text(yaml.safe_dump(config))
    use_kubeconfig(exec_config, monkeypatch)

    kube = load_kube()
    try:
        kube.patch_ledger_status(namespace, "guestbook", {"treeSize": 5})
        ledger = kube.get_ledger(namespace, "guestbook")
    finally:
        kube.close()

    assert ledger is not None
    assert ledger["status"]["treeSize"] == 5
    assert audit.users("patch", "ledgers/status") == {worker.username}


def test_no_calls_after_close(kube: Kube, namespace: str) -> None:
    assert kube.get_ledger(namespace, "guestbook") is not None
    kube.close()
    with pytest.raises(RuntimeError, match="after close"):
        kube.get_ledger(namespace, "guestbook")
