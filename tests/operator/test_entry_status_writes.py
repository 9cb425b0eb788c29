"""Entry status writes as a worker makes them (``Kube.write_entry_statuses``),
against the local Kubernetes API: statuses land on the right objects only,
transient API errors are retried, lasting ones reported, and the requests carry
the process's credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig
from guestbook_ledger.kube_rest import ApiClient, resource_path
from guestbook_operator.kube import EntryStatusWrite, Kube
from guestbook_operator.localsystem import install_crds
from guestbook_operator.manifests import API_VERSION

pytestmark = pytest.mark.timeout(120)
__all__ = ["devcluster", "kubeconfig"]

NAMESPACE = "default"
STATUS = "guestbookentries/status"


def sealed(index: int) -> dict[str, Any]:
    return {
        "phase": "Sealed",
        "leafIndex": index,
        "leafHash": f"{index:064x}",
        "treeSize": index + 1,
        "rootHash": "ab" * 32,
        "sealedAt": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
        "conditions": [],
    }


class Entries:
    """Create, delete and read GuestbookEntry objects through the REST API."""

    def __init__(self, cluster: DevCluster) -> None:
        self.cluster = cluster

    def _run(self, call: str, name: str) -> Any:
        async def go() -> Any:
            api = ApiClient(self.cluster.url, self.cluster.token)
            path = resource_path(API_VERSION, "guestbookentries", NAMESPACE)
            try:
                if call == "create":
                    body = {
                        "apiVersion": API_VERSION,
                        "kind": "GuestbookEntry",
                        "metadata": {"name": name},
                        "spec": {"message": f"hello from {name}"},
                    }
                    return await api.create(path, body)
                if call == "delete":
                    return await api.delete(f"{path}/{name}")
                return await api.get(f"{path}/{name}")
            finally:
                await api.aclose()

        return asyncio.run(go())

    def create(self, name: str) -> str:
        """Create the entry; returns its uid."""
        return str(self._run("create", name)["metadata"]["uid"])

    def delete(self, name: str) -> None:
        self._run("delete", name)

    def get(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._run("get", name)
        return found


@pytest.fixture
def entries(devcluster: DevCluster, kubeconfig: Path) -> Entries:
    install_crds(kubeconfig)
    return Entries(devcluster)


@pytest.fixture
def kube(devcluster: DevCluster, entries: Entries, tmp_path: Path) -> Iterator[Kube]:
    """What a worker pod has: a client acting as a ServiceAccount (the cluster
    allows every request, so the request log shows who made it)."""
    from kubernetes import config

    path = devcluster.services.write_kubeconfig_for(tmp_path / "worker.kubeconfig", NAMESPACE, "w")
    client = Kube(config.new_client_from_config(str(path)))  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        client.close()


def status_patches(cluster: DevCluster) -> list[Any]:
    return [
        r
        for r in cluster.services.request_log.records()
        if r.verb == "patch" and f"{r.resource}/{r.subresource}" == STATUS
    ]


def test_statuses_are_written_onto_their_entries(
    kube: Kube, entries: Entries, devcluster: DevCluster
) -> None:
    names = [f"entry-{i}" for i in range(40)]
    uids = [entries.create(name) for name in names]
    writes = [
        EntryStatusWrite(NAMESPACE, name, uid, sealed(i))
        for i, (name, uid) in enumerate(zip(names, uids, strict=True))
    ]

    assert kube.write_entry_statuses(writes) == []

    for i, name in enumerate(names):
        entry = entries.get(name)
        assert entry is not None
        assert entry["status"] == sealed(i)
    # Sent with the kubeconfig's credentials, not anonymously.
    assert {r.user for r in status_patches(devcluster)} == {"system:serviceaccount:default:w"}


def test_missing_and_recreated_entries_are_skipped_silently(kube: Kube, entries: Entries) -> None:
    old_uid = entries.create("replaced")
    entries.delete("replaced")
    new_uid = entries.create("replaced")  # a namesake: another message, another uid
    live_uid = entries.create("live")
    writes = [
        EntryStatusWrite(NAMESPACE, "never-existed", "0000", sealed(0)),
        EntryStatusWrite(NAMESPACE, "replaced", old_uid, sealed(1)),
        EntryStatusWrite(NAMESPACE, "live", live_uid, sealed(2)),
    ]

    assert kube.write_entry_statuses(writes) == []

    namesake = entries.get("replaced")
    assert namesake is not None
    assert namesake["metadata"]["uid"] == new_uid
    assert "status" not in namesake  # not given the status of the entry it replaced
    assert entries.get("never-existed") is None
    live = entries.get("live")
    assert live is not None
    assert live["status"] == sealed(2)


def test_transient_api_errors_are_retried(
    kube: Kube, entries: Entries, devcluster: DevCluster
) -> None:
    faults = devcluster.services.faults
    names = [f"entry-{i}" for i in range(5)]
    writes = [EntryStatusWrite(NAMESPACE, n, entries.create(n), sealed(0)) for n in names]
    faults.fail_next(2, verb="patch", resource=STATUS, code=503)
    faults.fail_next(2, verb="patch", resource=STATUS, code=429, retry_after=0)

    assert kube.write_entry_statuses(writes) == []

    assert faults.rules() == []  # the faults really happened
    for name in names:
        entry = entries.get(name)
        assert entry is not None
        assert entry["status"]["phase"] == "Sealed"


def test_lasting_api_errors_are_reported_by_name(
    kube: Kube, entries: Entries, devcluster: DevCluster
) -> None:
    uid = entries.create("unlucky")
    devcluster.services.faults.fail_next(None, verb="patch", resource=STATUS, code=500)

    failed = kube.write_entry_statuses([EntryStatusWrite(NAMESPACE, "unlucky", uid, sealed(0))])

    assert failed == ["unlucky"]
    entry = entries.get("unlucky")
    assert entry is not None
    assert "status" not in entry


def test_writes_from_several_threads_at_once(kube: Kube, entries: Entries) -> None:
    # The operator's repair pass and a worker's batch may share one Kube.
    from concurrent.futures import ThreadPoolExecutor

    batches = [
        [
            EntryStatusWrite(NAMESPACE, n, entries.create(n), sealed(0))
            for n in (f"t{t}-a", f"t{t}-b")
        ]
        for t in range(4)
    ]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(kube.write_entry_statuses, batches)) == [[], [], [], []]


def test_no_writes_after_close(kube: Kube, entries: Entries) -> None:
    uid = entries.create("late")
    kube.write_entry_statuses([EntryStatusWrite(NAMESPACE, "late", uid, sealed(0))])
    kube.close()
    kube.close()  # idempotent

    with pytest.raises(RuntimeError):
        kube.write_entry_statuses([EntryStatusWrite(NAMESPACE, "late", uid, sealed(1))])
