"""Entry status writes as a worker makes them (``Kube.write_entry_statuses``),
against the real API server: statuses land on the right objects only,
transient API errors are retried, lasting ones reported, and the requests carry
the worker's ServiceAccount (kube-apiserver's audit log says who called)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_proxy import FaultProxy
from audit_trail import AuditTrail
from guestbook_kube.credentials import load_settings
from guestbook_kube.resources import API_VERSION
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator.kube import EntryStatusWrite, Kube
from service_accounts import WORKER_RULES, ServiceAccount, create_service_account

pytestmark = pytest.mark.timeout(120)

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
    """Create, delete and read GuestbookEntry objects with kubectl (as the admin)."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl

    def create(self, *names: str) -> list[str]:
        """Create the entries (one request each); returns their uids, in order."""
        items = [
            {
                "apiVersion": API_VERSION,
                "kind": "GuestbookEntry",
                "metadata": {"name": name},
                "spec": {"message": f"hello from {name}"},
            }
            for name in names
        ]
        listing = {"apiVersion": "v1", "kind": "List", "items": items}
        self.kubectl("create", "-f", "-", input=json.dumps(listing))
        found = self.all()
        return [found[name]["metadata"]["uid"] for name in names]

    def delete(self, name: str) -> None:
        self.kubectl("delete", "gbe", name)

    def get(self, name: str) -> dict[str, Any] | None:
        found = self.kubectl("get", "gbe", name, "-o", "json", "--ignore-not-found")
        return json.loads(found) if found.strip() else None

    def all(self) -> dict[str, dict[str, Any]]:
        listing = json.loads(self.kubectl("get", "gbe", "-o", "json"))
        return {o["metadata"]["name"]: o for o in listing["items"]}


@pytest.fixture
def entries(crds: Kubectl, kubectl: Kubectl) -> Entries:
    return Entries(kubectl)


@pytest.fixture
def worker(kubectl: Kubectl, namespace: str) -> ServiceAccount:
    return create_service_account(kubectl, namespace, "worker", WORKER_RULES)


def worker_client(path: Path) -> Kube:
    """What a worker pod has: a client configured from its kubeconfig."""
    return Kube(load_settings(str(path)))


@pytest.fixture
def kube(worker: ServiceAccount, control_plane: ControlPlane, tmp_path: Path) -> Iterator[Kube]:
    path = worker.kubeconfig(
        tmp_path / "worker.kubeconfig", control_plane.server_url, control_plane.pki.ca_cert
    )
    client = worker_client(path)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def proxied_kube(
    worker: ServiceAccount, fault_proxy: FaultProxy, control_plane: ControlPlane, tmp_path: Path
) -> Iterator[Kube]:
    """The worker's client, reaching the API server through ``fault_proxy``."""
    path = worker.kubeconfig(tmp_path / "proxied", fault_proxy.url, control_plane.pki.ca_cert)
    client = worker_client(path)
    try:
        yield client
    finally:
        client.close()


def test_statuses_are_written_onto_their_entries(
    kube: Kube, entries: Entries, namespace: str, worker: ServiceAccount, audit: AuditTrail
) -> None:
    names = [f"entry-{i}" for i in range(40)]
    uids = entries.create(*names)
    writes = [
        EntryStatusWrite(namespace, name, uid, sealed(i))
        for i, (name, uid) in enumerate(zip(names, uids, strict=True))
    ]

    assert kube.write_entry_statuses(writes) == []

    found = entries.all()
    for i, name in enumerate(names):
        assert found[name]["status"] == sealed(i)
    # Sent with the kubeconfig's credentials, and allowed by the worker's Role.
    patches = audit.calls("patch", STATUS, at_least=40)
    assert {(c.username, c.code) for c in patches} == {(worker.username, 200)}
    assert sorted(c.name for c in patches) == sorted(names)


def test_missing_and_recreated_entries_are_skipped_silently(
    kube: Kube, entries: Entries, namespace: str
) -> None:
    [old_uid] = entries.create("replaced")
    entries.delete("replaced")
    [new_uid, live_uid] = entries.create("replaced", "live")  # a namesake: another uid
    writes = [
        EntryStatusWrite(namespace, "never-existed", "0000", sealed(0)),
        EntryStatusWrite(namespace, "replaced", old_uid, sealed(1)),
        EntryStatusWrite(namespace, "live", live_uid, sealed(2)),
    ]

    assert kube.write_entry_statuses(writes) == []

    namesake = entries.get("replaced")
    assert namesake is not None
    assert namesake["metadata"]["uid"] == new_uid
    # Not given the status of the entry it replaced: only the CRD's default (0097).
    assert namesake["status"] == {"phase": "Pending"}
    assert entries.get("never-existed") is None
    live = entries.get("live")
    assert live is not None
    assert live["status"] == sealed(2)


def test_a_write_decided_from_a_stale_version_changes_nothing(
    kube: Kube, entries: Entries, namespace: str
) -> None:
    # The operator's writes carry the resourceVersion they decided from (0148): one
    # that lost the race against the worker's Sealed status must not replace it.
    [uid] = entries.create("raced")
    seen = entries.get("raced")
    assert seen is not None
    version = seen["metadata"]["resourceVersion"]
    assert kube.write_entry_statuses([EntryStatusWrite(namespace, "raced", uid, sealed(3))]) == []
    late = {"phase": "Pending", "observedGeneration": 1, "conditions": []}

    skipped = kube.write_entry_statuses(
        [EntryStatusWrite(namespace, "raced", uid, late, resource_version=version)]
    )

    assert skipped == []  # a lost race is not a failure to report
    entry = entries.get("raced")
    assert entry is not None
    assert entry["status"] == sealed(3)
    # Decided from the current version, the same write lands.
    current = entry["metadata"]["resourceVersion"]
    assert (
        kube.write_entry_statuses(
            [EntryStatusWrite(namespace, "raced", uid, late, resource_version=current)]
        )
        == []
    )
    written = entries.get("raced")
    assert written is not None
    assert written["status"] == late


def test_transient_api_errors_are_retried(
    proxied_kube: Kube,
    fault_proxy: FaultProxy,
    entries: Entries,
    namespace: str,
    audit: AuditTrail,
) -> None:
    names = [f"entry-{i}" for i in range(5)]
    uids = entries.create(*names)
    writes = [
        EntryStatusWrite(namespace, n, u, sealed(0)) for n, u in zip(names, uids, strict=True)
    ]
    fault_proxy.fail_next(2, verb="patch", resource=STATUS, code=503)
    fault_proxy.fail_next(2, verb="patch", resource=STATUS, code=429, retry_after=0)

    assert proxied_kube.write_entry_statuses(writes) == []

    assert fault_proxy.faults_left() == 0  # the faults really happened
    found = entries.all()
    assert {found[name]["status"]["phase"] for name in names} == {"Sealed"}
    # Each entry's status reached the API server once.
    patches = audit.calls("patch", STATUS, at_least=5)
    assert sorted((c.name, c.code) for c in patches) == [(name, 200) for name in names]


def test_lasting_api_errors_are_reported_by_name(
    proxied_kube: Kube, fault_proxy: FaultProxy, entries: Entries, namespace: str
) -> None:
    [uid] = entries.create("unlucky")
    fault_proxy.fail_next(None, verb="patch", resource=STATUS, code=500)

    failed = proxied_kube.write_entry_statuses(
        [EntryStatusWrite(namespace, "unlucky", uid, sealed(0))]
    )

    assert failed == ["unlucky"]
    entry = entries.get("unlucky")
    assert entry is not None
    assert entry["status"] == {"phase": "Pending"}  # nothing written: the CRD's default


def test_writes_from_several_threads_at_once(kube: Kube, entries: Entries, namespace: str) -> None:
    # The operator's repair pass and a worker's batch may share one Kube.
    from concurrent.futures import ThreadPoolExecutor

    names = [[f"t{t}-a", f"t{t}-b"] for t in range(4)]
    uids = entries.create(*(n for pair in names for n in pair))
    batches = [
        [EntryStatusWrite(namespace, n, uids[2 * t + i], sealed(0)) for i, n in enumerate(pair)]
        for t, pair in enumerate(names)
    ]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(kube.write_entry_statuses, batches)) == [[], [], [], []]
    found = entries.all()
    assert {found[n]["status"]["phase"] for pair in names for n in pair} == {"Sealed"}


def test_no_writes_after_close(kube: Kube, entries: Entries, namespace: str) -> None:
    [uid] = entries.create("late")
    kube.write_entry_statuses([EntryStatusWrite(namespace, "late", uid, sealed(0))])
    kube.close()
    kube.close()  # idempotent

    with pytest.raises(RuntimeError):
        kube.write_entry_statuses([EntryStatusWrite(namespace, "late", uid, sealed(1))])
