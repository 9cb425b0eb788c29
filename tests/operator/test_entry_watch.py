"""The operator's own watch of GuestbookEntries against the real API server:
a listing first, then changes; a dropped stream resumes without listing again;
a version the API server no longer has (410 Gone, after kube-apiserver
restarted) lists again."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from api_proxy import FaultProxy
from guestbook_kube.client import ApiClient, Obj
from guestbook_kube.credentials import kubeconfig_settings
from guestbook_kube.informer import Informer
from guestbook_kube.resources import API_VERSION, entries_path
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator.entries.controller import entry_collections
from service_accounts import ENTRY_WATCH_RULES, create_service_account

pytestmark = pytest.mark.timeout(180)


def entry(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": API_VERSION,
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"message": f"hello from {name}"},
        }
    )


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    async def __call__(self, kind: str, obj: Obj) -> None:
        self.events.append((kind, (obj.get("metadata") or {}).get("name", "")))
        self.changed.set()

    async def until(self, *wanted: tuple[str, str], timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while not all(w in self.events for w in wanted):
                self.changed.clear()
                await self.changed.wait()

    def listed(self) -> list[str]:
        return [name for kind, name in self.events if kind == "LISTED"]


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait (bounded) until ``condition()`` is true."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def bump_etcd_revision(control_plane: ControlPlane) -> None:
    """Write a key outside Kubernetes' prefix straight into etcd (its JSON gateway),
    so that the cluster's revision moves on while kube-apiserver is down."""
    body = {
        "key": base64.b64encode(b"/guestbook-tests/revision").decode(),
        "value": base64.b64encode(b"moved on").decode(),
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{control_plane.ports.etcd_client}/v3/kv/put",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
async def operator_client(
    crds: Kubectl,
    kubectl: Kubectl,
    namespace: str,
    fault_proxy: FaultProxy,
    control_plane: ControlPlane,
    tmp_path: Path,
) -> AsyncIterator[ApiClient]:
    """The REST client the operator builds from its configuration (as
    handlers/entries.py does), as a ServiceAccount with the chart's entry-watch
    rules, through ``fault_proxy``."""
    account = await asyncio.to_thread(
        create_service_account, kubectl, namespace, "operator", ENTRY_WATCH_RULES
    )
    path = account.kubeconfig(tmp_path / "operator", fault_proxy.url, control_plane.pki.ca_cert)
    settings = kubeconfig_settings(path)
    assert settings is not None
    client = ApiClient.for_cluster(settings, user_agent="test")
    try:
        yield client
    finally:
        await client.aclose()


async def test_lists_then_watches_resumes_and_relists(
    operator_client: ApiClient,
    kubectl: Kubectl,
    namespace: str,
    fault_proxy: FaultProxy,
    control_plane: ControlPlane,
) -> None:
    async def apply(name: str) -> None:
        await asyncio.to_thread(lambda: kubectl("apply", "-f", "-", input=entry(name)))

    await apply("before")
    seen = Recorder()
    informer = Informer(operator_client, entries_path(namespace), seen, keep=False)
    task = asyncio.create_task(informer.run())
    try:
        await seen.until(("LISTED", "before"), ("SYNCED", ""))
        await apply("after")
        await seen.until(("ADDED", "after"))

        # A dropped stream resumes from the last version: nothing is listed again.
        fault_proxy.drop_connections()
        await until(lambda: fault_proxy.seen("watch", "guestbookentries") >= 2)
        await apply("resumed")
        await seen.until(("ADDED", "resumed"))
        assert seen.listed() == ["before"]
        assert fault_proxy.seen("list", "guestbookentries") == 1

        # kube-apiserver restarts while the cluster moves on: its new watch cache
        # begins after the last version the operator saw, so resuming from it is
        # 410 Gone, and the collection is listed again. (Restarted from this
        # thread, not a worker thread: a component dies with the thread that
        # started it, see guestbook_localcluster.processes.)
        control_plane.kill_component("kube-apiserver")
        try:
            bump_etcd_revision(control_plane)
        finally:
            control_plane.start_component("kube-apiserver")
        await seen.until(("LISTED", "after"), ("LISTED", "resumed"), timeout=90)
        assert seen.listed() == ["before", "after", "before", "resumed"]  # in name order
        kinds = [kind for kind, _ in seen.events]
        assert kinds.count("LISTING") == kinds.count("SYNCED") == 2  # one each per listing

        await asyncio.to_thread(kubectl, "delete", "gbe", "after")
        await seen.until(("DELETED", "after"))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # The control plane serves the whole session: never leave it down.
        control_plane.start_component("kube-apiserver")


def test_watched_collections() -> None:
    assert entry_collections([]) == ["/apis/ledger.guestbook.io/v1alpha1/guestbookentries"]
    assert entry_collections(["a", "b"]) == [
        "/apis/ledger.guestbook.io/v1alpha1/namespaces/a/guestbookentries",
        "/apis/ledger.guestbook.io/v1alpha1/namespaces/b/guestbookentries",
    ]
