"""The one informer against the real API server: with a cache, a listing after an
expired watch is reported as the difference (what went away is DELETED); through
a bounded queue, events keep their order and reading waits for the handler."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from guestbook_kube.client import ApiClient, Obj
from guestbook_kube.credentials import load_settings
from guestbook_kube.informer import LISTED, LISTING, SYNCED, Informer
from guestbook_kube.resources import API_VERSION, ENTRY_KIND, entries_path
from guestbook_localcluster.kubectl import Kubectl

WAIT = 60.0
# Older than anything kube-apiserver's watch cache holds: watching from it is 410 Gone.
EXPIRED_VERSION = "1"


def apply(kubectl: Kubectl, *names: str) -> None:
    for name in names:
        entry = {
            "apiVersion": API_VERSION,
            "kind": ENTRY_KIND,
            "metadata": {"name": name},
            "spec": {"message": f"message of {name}"},
        }
        kubectl("apply", "-f", "-", input=json.dumps(entry))


class ObservedClient(ApiClient):
    """The real client; counts listings and pages read, and can make its first
    watch miss changes and expire (as after a long disconnection)."""

    kubectl: Kubectl | None = None
    lists = 0
    pages = 0

    async def list_pages(self, path: str, **kwargs: Any) -> AsyncIterator[Obj]:
        self.lists += 1
        async for page in super().list_pages(path, **kwargs):
            self.pages += 1
            yield page

    async def watch(self, path: str, resource_version: str, *args: Any, **kwargs: Any) -> Any:
        if self.kubectl is not None:
            kubectl, self.kubectl = self.kubectl, None
            await asyncio.to_thread(kubectl, "delete", "gbe", "doomed")
            await asyncio.to_thread(apply, kubectl, "newcomer")
            resource_version = EXPIRED_VERSION
        async for event in super().watch(path, resource_version, *args, **kwargs):
            yield event


async def until(predicate: Any, what: str) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def test_a_cache_reports_a_relisting_as_the_difference(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str
) -> None:
    apply(kubectl, "doomed", "stays")
    client = ObservedClient.for_cluster(load_settings(str(kubeconfig)), user_agent="test")
    client.kubectl = kubectl
    events: list[tuple[str, str]] = []

    async def record(kind: str, obj: Obj) -> None:
        events.append((kind, obj["metadata"]["name"]))

    informer = Informer(client, entries_path(namespace), record, keep=True)
    task = asyncio.create_task(informer.run())
    try:
        await until(lambda: ("ADDED", "newcomer") in events, "the newcomer after relisting")
        await until(lambda: ("DELETED", "doomed") in events, "the deletion it missed")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
    assert client.lists == 2  # the watch expired: listed again
    assert events[:2] == [("ADDED", "doomed"), ("ADDED", "stays")]
    assert sorted(name for _, name in informer.store) == ["newcomer", "stays"]
    assert ("DELETED", "stays") not in events


async def test_a_bounded_queue_keeps_order_and_holds_reading_back(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str
) -> None:
    names = [f"e{i}" for i in range(8)]
    apply(kubectl, *names)
    client = ObservedClient.for_cluster(load_settings(str(kubeconfig)), user_agent="test")
    handled: list[tuple[str, str]] = []
    ahead: list[int] = []

    async def slow(kind: str, obj: Obj) -> None:
        ahead.append(client.pages - len(handled))  # pages read but not yet handled
        await asyncio.sleep(0.1)
        handled.append((kind, (obj.get("metadata") or {}).get("name", "")))

    informer = Informer(client, entries_path(namespace), slow, keep=False, queue=2, page_size=1)
    task = asyncio.create_task(informer.run())
    try:
        await until(lambda: (SYNCED, "") in handled, "the end of the listing")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()
    assert handled == [(LISTING, "")] + [(LISTED, name) for name in names] + [(SYNCED, "")]
    # One page per item: the queue's 2, one waiting to be queued, one in the handler.
    assert max(ahead) <= 4
    assert informer.synced.is_set()
