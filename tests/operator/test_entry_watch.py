"""The operator's own watch of GuestbookEntries against the local API server:
a listing first, then changes; a dropped stream resumes without listing again;
an expired version (410) lists again."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from guestbook_ledger.kube_rest import Obj
from guestbook_operator.entry_watch import watch_collection
from guestbook_operator.handlers.entries import entry_collections
from guestbook_operator.kube import rest_client
from guestbook_operator.localsystem import install_crds

pytestmark = pytest.mark.timeout(120)

PATH = "/apis/ledger.guestbook.io/v1alpha1/namespaces/default/guestbookentries"


def entry(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"message": f"hello from {name}"},
        }
    )


@pytest.fixture
def crds(kubectl: Kubectl, kubeconfig: Path) -> Kubectl:
    """kubectl, with the project's CRDs installed."""
    install_crds(kubeconfig)
    return kubectl


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.changed = asyncio.Event()

    async def __call__(self, kind: str, obj: Obj) -> None:
        self.events.append((kind, obj["metadata"]["name"]))
        self.changed.set()

    async def until(self, *wanted: tuple[str, str]) -> None:
        async with asyncio.timeout(30):
            while not all(w in self.events for w in wanted):
                self.changed.clear()
                await self.changed.wait()


async def apply(kubectl: Kubectl, manifest: str) -> None:
    await asyncio.to_thread(lambda: kubectl("apply", "-f", "-", input=manifest))


def test_lists_then_watches_resumes_and_relists(
    devcluster: DevCluster, crds: Kubectl, kubeconfig: Path
) -> None:
    from kubernetes import config

    crds("apply", "-f", "-", input=entry("before"))
    faults = devcluster.services.faults

    async def scenario() -> None:
        client = rest_client(
            config.new_client_from_config(str(kubeconfig)),  # type: ignore[no-untyped-call]
            user_agent="test",
        )
        seen = Recorder()
        task = asyncio.create_task(watch_collection(client, PATH, seen))
        try:
            await seen.until(("LISTED", "before"))
            await apply(crds, entry("after"))
            await seen.until(("ADDED", "after"))

            # A dropped stream resumes from the last version: nothing is listed again.
            await asyncio.to_thread(faults.drop_watches)
            await apply(crds, entry("resumed"))
            await seen.until(("ADDED", "resumed"))
            assert [e for e in seen.events if e[0] == "LISTED"] == [("LISTED", "before")]

            # An expired version (410 Gone) lists the collection again.
            faults.fail_next(1, verb="watch", resource="guestbookentries", code=410)
            await asyncio.to_thread(faults.drop_watches)
            await seen.until(("LISTED", "after"), ("LISTED", "resumed"))

            await asyncio.to_thread(crds, "delete", "gbe", "after")
            await seen.until(("DELETED", "after"))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.aclose()

    asyncio.run(scenario())


def test_watched_collections() -> None:
    assert entry_collections([]) == ["/apis/ledger.guestbook.io/v1alpha1/guestbookentries"]
    assert entry_collections(["a", "b"]) == [
        "/apis/ledger.guestbook.io/v1alpha1/namespaces/a/guestbookentries",
        "/apis/ledger.guestbook.io/v1alpha1/namespaces/b/guestbookentries",
    ]
