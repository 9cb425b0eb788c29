"""The API calls worker and audit pods make (``load_kube``), against the local
Kubernetes API: a pod's kubeconfig is read without the `kubernetes` package, the
calls land where they should with the pod's credentials, and a configuration
only the `kubernetes` loader understands (an exec plugin) still works."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig
from guestbook_ledger.kube_rest import ApiClient
from guestbook_operator import kube as kube_module
from guestbook_operator.kube import Kube, KubeError, load_kube
from guestbook_operator.localsystem import create_ledger, install_crds, ledger_manifest

pytestmark = pytest.mark.timeout(120)
__all__ = ["devcluster", "kubeconfig"]

NAMESPACE = "default"
POD_USER = "system:serviceaccount:default:worker"


def use_kubeconfig(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point this process at ``path`` as a pod's environment does (no in-cluster files)."""
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    # The kubernetes client reads $KUBECONFIG once, at import.
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


@pytest.fixture
def pod_kubeconfig(devcluster: DevCluster, kubeconfig: Path, tmp_path: Path) -> Path:
    """The cluster with the CRDs and Ledger default/guestbook; a kubeconfig acting as
    ServiceAccount default/worker, as the job runner gives a worker pod."""
    install_crds(kubeconfig)
    create_ledger(kubeconfig, ledger_manifest())
    return devcluster.services.write_kubeconfig_for(tmp_path / "pod", NAMESPACE, "worker")


@pytest.fixture
def kube(pod_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kube]:
    use_kubeconfig(pod_kubeconfig, monkeypatch)
    client = load_kube()
    try:
        yield client
    finally:
        client.close()


def users(cluster: DevCluster, verb: str, resource: str) -> set[str]:
    return {
        r.user
        for r in cluster.services.request_log.records()
        if r.verb == verb
        and (f"{r.resource}/{r.subresource}" if r.subresource else r.resource) == resource
    }


def as_admin(cluster: DevCluster, call: Callable[[ApiClient], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        api = ApiClient(cluster.url, cluster.token)
        try:
            return await call(api)
        finally:
            await api.aclose()

    return asyncio.run(go())


def create_entries(cluster: DevCluster, names: list[str]) -> None:
    async def create(api: ApiClient) -> None:
        for name in names:
            await api.create(
                f"/apis/ledger.guestbook.io/v1alpha1/namespaces/{NAMESPACE}/guestbookentries",
                {
                    "apiVersion": "ledger.guestbook.io/v1alpha1",
                    "kind": "GuestbookEntry",
                    "metadata": {"name": name},
                    "spec": {"message": f"hello from {name}"},
                },
            )

    as_admin(cluster, create)


def test_the_ledger_status_is_merged_with_the_pods_credentials(
    kube: Kube, devcluster: DevCluster
) -> None:
    kube.patch_ledger_status(NAMESPACE, "guestbook", {"treeSize": 3, "rootHash": "ab" * 32})
    kube.patch_ledger_status(NAMESPACE, "guestbook", {"treeSize": 4})

    ledger = kube.get_ledger(NAMESPACE, "guestbook")
    assert ledger is not None
    assert ledger["status"]["treeSize"] == 4
    assert ledger["status"]["rootHash"] == "ab" * 32  # merged, not replaced
    assert users(devcluster, "patch", "ledgers/status") == {POD_USER}


def test_a_missing_ledger_is_none_to_read_and_an_error_to_update(kube: Kube) -> None:
    assert kube.get_ledger(NAMESPACE, "nowhere") is None
    with pytest.raises(KubeError, match="Cannot update the status of Ledger default/nowhere"):
        kube.patch_ledger_status(NAMESPACE, "nowhere", {"treeSize": 1})


def test_transient_errors_on_the_ledger_status_are_retried(
    kube: Kube, devcluster: DevCluster
) -> None:
    faults = devcluster.services.faults
    faults.fail_next(2, verb="patch", resource="ledgers/status", code=503)

    kube.patch_ledger_status(NAMESPACE, "guestbook", {"treeSize": 7})

    assert faults.rules() == []
    ledger = kube.get_ledger(NAMESPACE, "guestbook")
    assert ledger is not None
    assert ledger["status"]["treeSize"] == 7


def test_lasting_errors_on_the_ledger_status_raise(kube: Kube, devcluster: DevCluster) -> None:
    devcluster.services.faults.fail_next(None, verb="patch", resource="ledgers/status", code=500)
    with pytest.raises(KubeError, match="Cannot update the status of Ledger default/guestbook"):
        kube.patch_ledger_status(NAMESPACE, "guestbook", {"treeSize": 1})


def test_entries_are_listed_page_by_page(
    kube: Kube, devcluster: DevCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"entry-{i}" for i in range(7)]
    create_entries(devcluster, names)
    monkeypatch.setattr(kube_module, "_PAGE", 3)

    listed = [entry["metadata"]["name"] for entry in kube.entries(NAMESPACE)]

    assert sorted(listed) == names
    assert kube.get_entry(NAMESPACE, "entry-0") is not None
    assert kube.get_entry(NAMESPACE, "entry-99") is None


def test_an_event_is_recorded_about_the_ledger(kube: Kube, devcluster: DevCluster) -> None:
    ledger = kube.get_ledger(NAMESPACE, "guestbook")
    assert ledger is not None

    kube.post_event(ledger, type="Warning", reason="AuditMismatch", message="leaf 3 differs")

    events = as_admin(
        devcluster, lambda api: api.list_objects(f"/api/v1/namespaces/{NAMESPACE}/events")
    )
    [event] = events["items"]
    assert (event["type"], event["reason"], event["message"]) == (
        "Warning",
        "AuditMismatch",
        "leaf 3 differs",
    )
    assert event["involvedObject"]["uid"] == ledger["metadata"]["uid"]
    assert users(devcluster, "create", "events") == {POD_USER}


def test_a_pod_process_does_not_import_the_kubernetes_package(
    pod_kubeconfig: Path, tmp_path: Path
) -> None:
    script = (
        "import json, sys\n"
        "from guestbook_operator.kube import load_kube\n"
        "kube = load_kube()\n"
        "kube.patch_ledger_status('default', 'guestbook', {'treeSize': 2})\n"
        "found = kube.get_ledger('default', 'guestbook')\n"
        "kube.close()\n"
        "print(json.dumps([found['status']['treeSize'], 'kubernetes' in sys.modules]))\n"
    )
    env = {**os.environ, "KUBECONFIG": str(pod_kubeconfig)}
    env.pop("KUBERNETES_SERVICE_HOST", None)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == [2, False]


def test_an_exec_plugin_kubeconfig_goes_through_the_kubernetes_loader(
    pod_kubeconfig: Path, devcluster: DevCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    config: dict[str, Any] = yaml.safe_load(pod_kubeconfig.read_text())
    token = config["users"][0]["user"]["token"]
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": token},
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
        kube.patch_ledger_status(NAMESPACE, "guestbook", {"treeSize": 5})
        ledger = kube.get_ledger(NAMESPACE, "guestbook")
    finally:
        kube.close()

    assert ledger is not None
    assert ledger["status"]["treeSize"] == 5
    assert users(devcluster, "patch", "ledgers/status") == {POD_USER}


def test_no_calls_after_close(kube: Kube) -> None:
    assert kube.get_ledger(NAMESPACE, "guestbook") is not None
    kube.close()
    with pytest.raises(RuntimeError, match="after close"):
        kube.get_ledger(NAMESPACE, "guestbook")
