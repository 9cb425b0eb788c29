"""One watch on the GuestbookEntries of a namespace, fanned out to every browser.

The feed lists the entries, then watches from the list's resourceVersion and
keeps a cache of them (an informer); every change goes to each subscriber's
queue, which an SSE response drains. However many browsers are open, the API
server sees one list and one watch. After a broken watch or a 410 Expired the
feed lists again and publishes the difference, so a subscriber never misses a
deletion or a status change.

Memory is bounded whatever the ledger's size (decision 0128): the feed keeps
only the newest ``window`` entries (by creation time), reads the list one page
at a time, and drops server bookkeeping (managedFields) from what it keeps.
Older entries are read page by page from the API server (``GET /api/entries?continue=``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from guestbook_kube.resources import entry_ledger

from guestbook_webui.entry_view import newest_first
from guestbook_webui.kube import KubeApi, KubeApiError, KubeUnavailableError

log = logging.getLogger("guestbook.webui.feed")

MAX_RETRY_SECONDS = 30.0
SUBSCRIBER_QUEUE = 1000
"""Changes a slow subscriber may fall behind by before its stream is ended (the
browser reconnects and starts again from a snapshot)."""


@dataclass(frozen=True)
class Change:
    """``kind`` is "entry" (added or changed) or "deleted"; ``entry`` the resource."""

    kind: str
    entry: dict[str, Any]


class Overflow(Exception):
    """A subscriber fell more than SUBSCRIBER_QUEUE changes behind."""


class Subscription:
    """Changes for one subscriber, in order; iterate with `next`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.overflowed = False

    def offer(self, change: Change | None) -> None:
        try:
            self._queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, timeout: float) -> Change | None:
        """The next change, or None after ``timeout`` seconds without one.

        Raises Overflow when changes were dropped, EOFError when the feed closed.
        """
        if self.overflowed:
            raise Overflow
        try:
            change = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if change is None:
            raise EOFError
        return change


def _kept(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` without managedFields (half of a small entry's size, never shown)."""
    meta = entry.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        entry = {**entry, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return entry


def _age(entry: dict[str, Any]) -> tuple[str, str]:
    """What decides which entries leave the window first: creation time, then name."""
    meta = entry.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))


class EntryFeed:
    """The newest ``window`` entries of one ledger in one namespace, kept live by a
    watch. Requires ``window`` >= 1."""

    def __init__(
        self,
        kube: KubeApi,
        namespace: str,
        ledger: str,
        *,
        window: int = 1000,
        retry_seconds: float = 1.0,
        watch_seconds: int = 300,
    ) -> None:
        self._kube = kube
        self.namespace = namespace
        self.ledger = ledger
        self.window = window
        self._retry_seconds = retry_seconds
        self._watch_seconds = watch_seconds
        self._entries: dict[str, dict[str, Any]] = {}
        # The order entries were first seen in: ties within a creation second.
        self._arrival: dict[str, int] = {}
        self._arrivals = 0
        # Ages of the kept entries, oldest first; stale ones (gone, or changed) are
        # skipped when met, and the heap is rebuilt when they pile up.
        self._ages: list[tuple[str, str]] = []
        self._ordered: list[dict[str, Any]] | None = None
        self.version = 0
        """Counts changes to the kept entries (a cache key for what shows them)."""
        self._subscribers: set[Subscription] = set()
        self.synced = asyncio.Event()
        self.last_error = ""

    # -- reading ---------------------------------------------------------------

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """This ledger's newest entries, newest first (at most ``limit``; never more
        than the window). The list is shared: do not change it."""
        if self._ordered is None:
            self._ordered = newest_first(self._entries.values(), self._arrival)
        return self._ordered if limit is None else self._ordered[:limit]

    @property
    def subscribers(self) -> int:
        """How many subscriptions (event streams) are open."""
        return len(self._subscribers)

    def get(self, name: str) -> dict[str, Any] | None:
        return self._entries.get(name)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """A subscription to every change from now until the block ends."""
        subscription = Subscription()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    # -- writing ---------------------------------------------------------------

    def remember(self, entry: dict[str, Any]) -> None:
        """Add an entry this process just created, so the creator sees it at once
        (read-your-writes); the watch event that follows replaces it."""
        name = entry.get("metadata", {}).get("name", "")
        if name and name not in self._entries and self._belongs(entry):
            self._apply(Change("entry", entry))

    def _belongs(self, entry: dict[str, Any]) -> bool:
        return entry_ledger(entry) == self.ledger

    def _oldest_kept(self) -> tuple[str, str] | None:
        while self._ages:
            age = self._ages[0]
            kept = self._entries.get(age[1])
            if kept is not None and _age(kept) == age:
                return age
            heapq.heappop(self._ages)
        return None

    def _forget(self, name: str) -> None:
        self._entries.pop(name, None)
        self._arrival.pop(name, None)
        self._ordered = None
        self.version += 1

    def _keep(self, entry: dict[str, Any]) -> bool:
        """Keep ``entry`` in the window; False when it is older than every entry of
        a full window (then nothing changes)."""
        name = entry["metadata"]["name"]
        age = _age(entry)
        if name not in self._entries and len(self._entries) >= self.window:
            oldest = self._oldest_kept()
            if oldest is not None and age < oldest:
                return False
        self._entries[name] = entry
        self._ordered = None
        self.version += 1
        heapq.heappush(self._ages, age)
        if name not in self._arrival:
            self._arrivals += 1
            self._arrival[name] = self._arrivals
        while len(self._entries) > self.window:
            oldest = self._oldest_kept()
            if oldest is None:
                break
            heapq.heappop(self._ages)
            self._forget(oldest[1])  # left the window: older than all the rest
        if len(self._ages) > 2 * self.window + 64:
            self._ages = [_age(kept) for kept in self._entries.values()]
            heapq.heapify(self._ages)
        return True

    def _apply(self, change: Change) -> None:
        name = change.entry["metadata"]["name"]
        if change.kind == "deleted":
            if name not in self._entries:
                return
            self._forget(name)
        elif self._belongs(change.entry):
            if not self._keep(_kept(change.entry)):
                return
        else:
            return
        for subscription in list(self._subscribers):
            subscription.offer(change)

    async def _list_window(self) -> str:
        """List every entry, a page at a time, keep the newest ``window`` and publish
        the difference from what was kept before. Returns the list's resourceVersion."""
        newest: list[tuple[tuple[str, str], int, dict[str, Any]]] = []
        still_there: set[str] = set()
        version, count = "", 0
        async for page in self._kube.list_entries(self.namespace):
            version = page.resource_version
            for item in page.items:
                name = item["metadata"]["name"]
                if name in self._entries:
                    still_there.add(name)
                if not self._belongs(item):
                    continue
                count += 1  # tie-breaker: dicts do not compare
                heapq.heappush(newest, (_age(item), count, _kept(item)))
                if len(newest) > self.window:
                    heapq.heappop(newest)
        fresh = {item["metadata"]["name"]: item for _, _, item in newest}
        for name, old in list(self._entries.items()):
            if name not in still_there:
                self._apply(Change("deleted", old))  # gone from the cluster
            elif name not in fresh:
                self._forget(name)  # still there, but older than the window now
        for name, item in fresh.items():
            known = self._entries.get(name)
            if known is None or known.get("metadata", {}).get("resourceVersion") != item.get(
                "metadata", {}
            ).get("resourceVersion"):
                self._apply(Change("entry", item))
        return version

    # -- the loop --------------------------------------------------------------

    async def run(self) -> None:
        """List and watch until cancelled. Failures are logged and retried with a
        backoff (``retry_seconds`` doubling up to MAX_RETRY_SECONDS); an expired
        watch is listed again at once, but not twice in a row without progress."""
        failures = 0  # in a row, without a watch event in between
        try:
            while True:
                try:
                    progressed = await self._list_and_watch()
                    failures = 0 if progressed else failures + 1
                    # An expired watch lists again at once; repeated expiry backs off.
                    delay = self._backoff(failures - 1)
                except (KubeApiError, KubeUnavailableError) as exc:
                    self.last_error = str(exc)
                    log.warning("entry watch failed, retrying: %s", exc)
                    failures += 1
                    delay = self._backoff(failures)
                except Exception as exc:  # a malformed event must not end the feed for good
                    self.last_error = f"unexpected error: {exc}"
                    log.exception("entry watch failed unexpectedly, retrying")
                    failures += 1
                    delay = self._backoff(failures)
                await asyncio.sleep(delay)
        finally:
            for subscription in list(self._subscribers):
                subscription.offer(None)

    def _backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row (0 for none)."""
        if failures <= 0:
            return 0.0
        return float(min(self._retry_seconds * 2 ** (failures - 1), MAX_RETRY_SECONDS))

    async def _list_and_watch(self) -> bool:
        """List, then watch until an ERROR event (e.g. 410 Expired). Returns whether
        any watch event arrived before that (progress)."""
        version = await self._list_window()
        self.synced.set()
        self.last_error = ""
        progressed = False
        while True:
            events = 0
            async for event in self._kube.watch_entries(
                self.namespace, version, timeout_seconds=self._watch_seconds
            ):
                events += 1
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    # 410 Expired and the like: start over from a fresh list.
                    log.info("watch ended with %s; listing again", obj.get("message"))
                    return progressed
                progressed = True
                version = obj.get("metadata", {}).get("resourceVersion") or version
                if not obj.get("metadata", {}).get("name"):
                    continue  # BOOKMARK: only the version moves
                if kind in ("ADDED", "MODIFIED"):
                    self._apply(Change("entry", obj))
                elif kind == "DELETED":
                    self._apply(Change("deleted", obj))
            if not events:
                # A watch that ends without a single event (not even a bookmark):
                # don't spin on a server that closes streams at once.
                await asyncio.sleep(self._retry_seconds)
