"""One watch on the GuestbookEntries of a namespace, fanned out to every browser.

The feed follows the entries with the shared informer (``guestbook_kube``:
list, then watch from the list's resourceVersion) and keeps a window of them;
every change goes to each subscriber's
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

from guestbook_kube.informer import LISTED, LISTING, SYNCED, Informer
from guestbook_kube.resources import entries_path, entry_ledger

from guestbook_webui.entry_view import newest_first
from guestbook_webui.kube import KubeApi

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
        self._informer: Informer | None = None
        # The listing in progress: the newest ``window`` items so far, and which
        # kept entries it still holds.
        self._listing: list[tuple[tuple[str, str], int, dict[str, Any]]] = []
        self._still_there: set[str] = set()
        self._listing_count = 0

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

    # -- following the API server (the shared informer) ------------------------

    async def _on_event(self, kind: str, obj: dict[str, Any]) -> None:
        if kind == LISTING:
            self._forget_listing()  # one that broke off before SYNCED starts over
        elif kind == LISTED:
            self._listed(obj)
        elif kind == SYNCED:
            self._synced()
        elif kind in ("ADDED", "MODIFIED"):
            self._apply(Change("entry", obj))
        elif kind == "DELETED":
            self._apply(Change("deleted", obj))

    def _listed(self, item: dict[str, Any]) -> None:
        """One item of a listing: keep it if it is among the newest ``window``."""
        name = item["metadata"]["name"]
        if name in self._entries:
            self._still_there.add(name)
        if not self._belongs(item):
            return
        self._listing_count += 1  # tie-breaker: dicts do not compare
        heapq.heappush(self._listing, (_age(item), self._listing_count, _kept(item)))
        if len(self._listing) > self.window:
            heapq.heappop(self._listing)

    def _synced(self) -> None:
        """A listing is complete: publish its difference from what was kept."""
        fresh = {item["metadata"]["name"]: item for _, _, item in self._listing}
        for name, old in list(self._entries.items()):
            if name not in self._still_there:
                self._apply(Change("deleted", old))  # gone from the cluster
            elif name not in fresh:
                self._forget(name)  # still there, but older than the window now
        for name, item in fresh.items():
            known = self._entries.get(name)
            if known is None or known.get("metadata", {}).get("resourceVersion") != item.get(
                "metadata", {}
            ).get("resourceVersion"):
                self._apply(Change("entry", item))
        self._forget_listing()
        self.synced.set()

    def _forget_listing(self) -> None:
        self._listing, self._still_there, self._listing_count = [], set(), 0

    @property
    def last_error(self) -> str:
        """Why the last list or watch failed ("" once one works)."""
        return self._informer.last_error if self._informer is not None else ""

    async def run(self) -> None:
        """List and watch until cancelled (``guestbook_kube.informer``): a resumed
        watch needs no new list; an expired one lists again and publishes what
        changed. Failures are retried with a backoff (``retry_seconds`` doubling
        up to MAX_RETRY_SECONDS)."""
        self._informer = Informer(
            self._kube.client,
            entries_path(self.namespace),
            self._on_event,
            keep=False,
            first_delay=self._retry_seconds,
            max_delay=MAX_RETRY_SECONDS,
            watch_seconds=self._watch_seconds,
        )
        try:
            await self._informer.run()
        finally:
            for subscription in list(self._subscribers):
                subscription.offer(None)
