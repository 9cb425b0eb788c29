"""The entry feed (one list + watch for every browser) misses nothing: it resumes
after each watch ends, and after an expired watch it lists again and publishes
what changed meanwhile — deletions included. The watches end, and expire, on
kube-apiserver itself."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from guestbook_kube.client import ApiClient, Obj
from guestbook_kube.credentials import load_settings
from guestbook_localcluster.kubectl import Kubectl
from guestbook_webui.entry_feed import Change, EntryFeed, Subscription
from guestbook_webui.kube import KubeApi

WAIT = 60.0


def manifest(name: str, ledger: str = "guestbook") -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"ledger": ledger, "message": f"message of {name}"},
        }
    )


# Older than anything kube-apiserver's watch cache still holds: a watch from it
# is answered with 410 Expired ("too old resource version"), as after a long
# disconnection.
EXPIRED_VERSION = "1"


class CountingClient(ApiClient):
    """The real client, counting lists and watches; ``expire_first_watch`` changes
    entries while the first watch is "disconnected", then resumes it from a version
    the API server has forgotten, so that it expires and the changes were missed."""

    kubectl: Kubectl
    expire_first_watch = False
    lists = 0
    watches = 0

    async def list_pages(self, path: str, **kwargs: Any) -> AsyncIterator[Obj]:
        self.lists += 1
        async for page in super().list_pages(path, **kwargs):
            yield page

    async def watch(self, path: str, resource_version: str, *args: Any, **kwargs: Any) -> Any:
        self.watches += 1
        if self.expire_first_watch and self.watches == 1:
            # While "disconnected": one entry goes away, another arrives.
            await asyncio.to_thread(self.kubectl, "delete", "gbe", "doomed")
            await asyncio.to_thread(self.kubectl, "apply", "-f", "-", input=manifest("newcomer"))
            resource_version = EXPIRED_VERSION
        async for event in super().watch(path, resource_version, *args, **kwargs):
            yield event


def counting_kube(kubeconfig: Path, kubectl: Kubectl, *, expire_first_watch: bool) -> KubeApi:
    """The web UI's KubeApi on a CountingClient (call inside the test's event loop)."""
    settings = load_settings(str(kubeconfig))
    client = CountingClient.for_cluster(settings, user_agent="test")
    client.kubectl, client.expire_first_watch = kubectl, expire_first_watch
    return KubeApi(settings, client)


async def until(predicate: Any, what: str) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def changes_until(subscription: Subscription, kind: str, name: str) -> list[Change]:
    seen: list[Change] = []

    async def collect() -> None:
        while True:
            change = await subscription.next(1.0)
            if change is None:
                continue
            seen.append(change)
            if change.kind == kind and change.entry["metadata"]["name"] == name:
                return

    await asyncio.wait_for(collect(), WAIT)
    return seen


async def test_the_feed_resumes_after_each_watch_ends(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str
) -> None:
    kube = counting_kube(kubeconfig, kubectl, expire_first_watch=False)
    counts = kube.client
    assert isinstance(counts, CountingClient)
    feed = EntryFeed(kube, namespace, "guestbook", watch_seconds=1)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.synced.wait(), WAIT)
        async with feed.subscribe() as subscription:
            await until(lambda: counts.watches >= 2, "a second watch")
            await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest("late"))
            await changes_until(subscription, "entry", "late")
            await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest("other", "other"))
            await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest("later"))
            seen = await changes_until(subscription, "entry", "later")
        assert "other" not in [change.entry["metadata"]["name"] for change in seen]
        assert counts.lists == 1, "resuming a watch needs no new list"
        assert [entry["metadata"]["name"] for entry in feed.entries()] == ["later", "late"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await kube.aclose()


async def test_an_expired_watch_lists_again_and_publishes_what_was_missed(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str
) -> None:
    kubectl("apply", "-f", "-", input=manifest("doomed"))
    kubectl("apply", "-f", "-", input=manifest("stays"))
    kube = counting_kube(kubeconfig, kubectl, expire_first_watch=True)
    counts = kube.client
    assert isinstance(counts, CountingClient)
    feed = EntryFeed(kube, namespace, "guestbook")
    async with feed.subscribe() as subscription:
        task = asyncio.create_task(feed.run())
        try:
            seen = await changes_until(subscription, "deleted", "doomed")
            seen += await changes_until(subscription, "entry", "newcomer")
            await until(lambda: counts.watches >= 2, "the watch after the new list")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await kube.aclose()
    assert counts.lists == 2
    assert sorted(entry["metadata"]["name"] for entry in feed.entries()) == ["newcomer", "stays"]
    kinds = {(change.kind, change.entry["metadata"]["name"]) for change in seen}
    assert {("entry", "doomed"), ("entry", "stays"), ("deleted", "doomed")} <= kinds


class BreakingClient(ApiClient):
    """The real client, whose first listing breaks off after its first page."""

    lists = 0

    async def list_pages(self, path: str, **kwargs: Any) -> AsyncIterator[Obj]:
        self.lists += 1
        async for page in super().list_pages(path, **kwargs):
            yield page
            if self.lists == 1:
                raise aiohttp.ClientPayloadError("the connection broke off mid-listing")


async def test_a_listing_that_breaks_off_is_started_over(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str
) -> None:
    """The items of a listing that broke off must not count twice in the window."""
    kubectl("apply", "-f", "-", input=manifest("a"))
    kubectl("apply", "-f", "-", input=manifest("b"))
    settings = load_settings(str(kubeconfig))
    client = BreakingClient.for_cluster(settings, user_agent="test")
    kube = KubeApi(settings, client)
    feed = EntryFeed(kube, namespace, "guestbook", window=2, retry_seconds=0.1)
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.synced.wait(), WAIT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await kube.aclose()
    assert client.lists == 2
    assert sorted(entry["metadata"]["name"] for entry in feed.entries()) == ["a", "b"]
