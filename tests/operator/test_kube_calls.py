"""The API calls worker and audit pods and the operator make (``load_kube``),
against the real API server: a pod's kubeconfig or service-account files are
read without the `kubernetes` package, the calls land where they should with
the pod's own ServiceAccount (as kube-apiserver's audit log records them) and
need no more than the chart grants workers, transient failures are retried, a
configuration only the `kubernetes` loader understands (an exec plugin, merged
kubeconfigs) still works, and the operator's Secrets, Jobs, ServiceAccounts
and entry deletes answer as its handlers expect, also without that package."""

from __future__ import annotations

import base64
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
from guestbook_operator.kube import Kube, KubeError, StoredSecret, load_kube
from service_accounts import WORKER_RULES, ServiceAccount, create_service_account

pytestmark = pytest.mark.timeout(120)


def use_kubeconfig(location: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process at ``location`` (a kubeconfig, or several joined by
    os.pathsep) as a pod's environment does (no in-cluster files)."""
    monkeypatch.setenv("KUBECONFIG", str(location))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    # The kubernetes client reads $KUBECONFIG once, at import.
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(location))


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


def run_in_a_fresh_process(kubeconfig: Path, calls: str) -> list[Any]:
    """Run ``calls`` in a new Python process configured by ``kubeconfig``, as a
    worker or audit pod runs: Python statements that set ``found`` from ``kube``
    (``load_kube()``), after the worker's and the audit Job's modules are imported.
    Returns [found, whether the `kubernetes` package was imported]."""
    script = (
        "import json, sys\n"
        "import guestbook_operator.audit_job, guestbook_operator.worker\n"
        "from guestbook_operator.kube import load_kube\n"
        "kube = load_kube()\n"
        f"{calls}\n"
        "kube.close()\n"
        "print(json.dumps([found, 'kubernetes' in sys.modules]))\n"
    )
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer: list[Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def status_calls(namespace: str) -> str:
    """What a worker does: patch the Ledger's status, read the Ledger (``found``: its treeSize)."""
    return (
        f"kube.patch_ledger_status({namespace!r}, 'guestbook', {{'treeSize': 2}})\n"
        f"found = kube.get_ledger({namespace!r}, 'guestbook')['status']['treeSize']"
    )


def test_a_pod_process_does_not_import_the_kubernetes_package(
    pod_kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    assert run_in_a_fresh_process(pod_kubeconfig, status_calls(namespace)) == [2, False]
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

    assert run_in_a_fresh_process(pod_kubeconfig, status_calls(namespace)) == [2, False]
    assert audit.users("patch", "ledgers/status") == {worker.username}


def test_a_client_certificate_kubeconfig_is_read_without_the_kubernetes_package(
    kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    # The local cluster's admin kubeconfig: inline CA, client certificate and key.
    assert run_in_a_fresh_process(kubeconfig, status_calls(namespace)) == [2, False]
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


def test_merged_kubeconfigs_with_a_client_certificate_go_through_the_kubernetes_loader(
    kubeconfig: Path,
    worker: ServiceAccount,
    namespace: str,
    tmp_path: Path,
    audit: AuditTrail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two files in $KUBECONFIG are merged by the `kubernetes` loader only; the
    # REST client then presents the client certificate that loader wrote out.
    empty = tmp_path / "empty-kubeconfig"
    empty.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config"}))
    use_kubeconfig(f"{kubeconfig}{os.pathsep}{empty}", monkeypatch)

    kube = load_kube()
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


# --- the operator's own calls (Secrets, Jobs, ServiceAccounts, entry deletes) -------


@pytest.fixture
def operator_kube(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kube]:
    """The operator's client, as the cluster's admin (the chart's operator role
    grants these calls; the worker's does not)."""
    use_kubeconfig(kubeconfig, monkeypatch)
    client = load_kube(user_agent="guestbook-operator")
    try:
        yield client
    finally:
        client.close()


def encoded(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def test_secrets_are_created_once_read_decoded_and_merge_patched(
    operator_kube: Kube, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    ledger = operator_kube.get_ledger(namespace, "guestbook")
    assert ledger is not None
    owner = {
        "apiVersion": ledger["apiVersion"],
        "kind": "Ledger",
        "name": "guestbook",
        "uid": ledger["metadata"]["uid"],
    }
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "guestbook-db",
            "namespace": namespace,
            "labels": {"role": "worker"},
            "ownerReferences": [owner],
        },
        "data": {"dsn": encoded("postgresql://ledger@db/ledger?application_name=é")},
    }
    assert operator_kube.read_secret_object(namespace, "guestbook-db") is None

    assert operator_kube.create_secret(manifest) is True
    assert operator_kube.create_secret(manifest) is False  # one of that name exists

    assert operator_kube.read_secret_object(namespace, "guestbook-db") == StoredSecret(
        name="guestbook-db",
        labels={"role": "worker"},
        owner_uids=(ledger["metadata"]["uid"],),
        data={"dsn": "postgresql://ledger@db/ledger?application_name=é"},
    )
    operator_kube.patch_secret(
        namespace,
        "guestbook-db",
        {"data": {"key": encoded("k")}, "metadata": {"ownerReferences": None}},
    )
    patched = operator_kube.read_secret_object(namespace, "guestbook-db")
    assert patched is not None and patched.owner_uids == ()
    assert operator_kube.read_secret(namespace, "guestbook-db") == {
        "dsn": "postgresql://ledger@db/ledger?application_name=é",
        "key": "k",
    }
    with pytest.raises(KubeError, match=f"Cannot update Secret {namespace}/nowhere: NotFound"):
        operator_kube.patch_secret(namespace, "nowhere", {"data": {"key": encoded("k")}})
    assert audit.users("create", "secrets", at_least=2) == {"kubernetes-admin"}


def test_service_accounts_are_looked_up(
    operator_kube: Kube, worker: ServiceAccount, namespace: str
) -> None:
    assert operator_kube.service_account_exists(namespace, "worker") is True
    assert operator_kube.service_account_exists(namespace, "nobody") is False


def suspended_job(namespace: str, role: str) -> dict[str, Any]:
    """A Job as the operator makes them (a generated name, role labels), suspended:
    no pod ever runs."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": f"{role}-", "namespace": namespace, "labels": {"role": role}},
        "spec": {
            "suspend": True,
            "parallelism": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": role, "image": "guestbook-ledger:test"}],
                }
            },
        },
    }


def test_jobs_are_created_listed_by_label_and_scaled(operator_kube: Kube, namespace: str) -> None:
    name = operator_kube.create_job(suspended_job(namespace, "worker"))
    operator_kube.create_job(suspended_job(namespace, "audit"))

    operator_kube.set_job_parallelism(namespace, name, 3)

    [listed] = operator_kube.list_jobs(namespace, "role=worker")
    assert name.startswith("worker-") and listed["metadata"]["name"] == name
    assert listed["spec"]["parallelism"] == 3
    assert listed["metadata"]["creationTimestamp"]  # what the audit schedule reads
    assert operator_kube.list_jobs(namespace, "role=none") == []
    with pytest.raises(KubeError, match=f"Cannot scale Job {namespace}/nowhere: NotFound"):
        operator_kube.set_job_parallelism(namespace, "nowhere", 2)


def test_an_entry_is_deleted_only_while_it_is_the_same_object(
    operator_kube: Kube, kubectl: Kubectl, crds: Kubectl, namespace: str
) -> None:
    create_entries(kubectl, ["retired"])
    entry = operator_kube.get_entry(namespace, "retired")
    assert entry is not None

    operator_kube.delete_entry(namespace, "retired", "the-uid-of-a-namesake")
    assert operator_kube.get_entry(namespace, "retired") is not None  # another object: kept

    operator_kube.delete_entry(namespace, "retired", entry["metadata"]["uid"])
    assert operator_kube.get_entry(namespace, "retired") is None
    operator_kube.delete_entry(namespace, "retired", entry["metadata"]["uid"])  # gone: no error


def test_the_operators_calls_in_a_fresh_process_do_not_import_the_kubernetes_package(
    kubeconfig: Path, worker: ServiceAccount, namespace: str, audit: AuditTrail
) -> None:
    job = suspended_job(namespace, "worker")
    calls = (
        f"name = kube.create_job({job!r})\n"
        f"kube.set_job_parallelism({namespace!r}, name, 2)\n"
        "found = [\n"
        f"    kube.service_account_exists({namespace!r}, 'worker'),\n"
        f"    kube.read_secret({namespace!r}, 'nowhere'),\n"
        f"    [j['spec']['parallelism'] for j in kube.list_jobs({namespace!r}, 'role=worker')],\n"
        "]"
    )
    assert run_in_a_fresh_process(kubeconfig, calls) == [[True, None, [2]], False]
    assert audit.users("patch", "jobs") == {"kubernetes-admin"}


def test_the_operators_reads_are_retried_through_transient_errors_and_its_creates_are_not(
    kubectl: Kubectl,
    fault_proxy: FaultProxy,
    control_plane: ControlPlane,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
    ]
    account = create_service_account(kubectl, namespace, "operator", rules)
    path = account.kubeconfig(tmp_path / "operator", fault_proxy.url, control_plane.pki.ca_cert)
    use_kubeconfig(path, monkeypatch)
    kube = load_kube(user_agent="guestbook-operator")
    try:
        fault_proxy.fail_next(2, verb="get", resource="secrets", code=503)
        assert kube.read_secret_object(namespace, "nowhere") is None
        assert fault_proxy.failed("get", "secrets") == 2

        # A retry after a lost answer could make a second Job: one try only.
        fault_proxy.fail_next(1, verb="create", resource="jobs", code=503)
        with pytest.raises(KubeError, match=f"Cannot create a Job in {namespace}: "):
            kube.create_job(suspended_job(namespace, "worker"))
        assert fault_proxy.seen("create", "jobs") == 1
    finally:
        kube.close()
