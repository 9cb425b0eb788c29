"""One watch on the GuestbookEntries of a namespace, fanned out to every browser.

The feed lists the entries, then watches from the list's resourceVersion and
keeps a cache of them (an informer); every change goes to each subscriber's
queue, which an SSE response drains. However many browsers are open, the API
server sees one list and one watch. After a broken watch or a 410 Expired the
feed lists again and publishes the difference, so a subscriber never misses a
deletion or a status change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

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


class EntryFeed:
    """The cached entries of one ledger in one namespace, kept live by a watch."""

    def __init__(
        self,
        kube: KubeApi,
        namespace: str,
        ledger: str,
        *,
        retry_seconds: float = 1.0,
        watch_seconds: int = 300,
    ) -> None:
        self._kube = kube
        self.namespace = namespace
        self.ledger = ledger
        self._retry_seconds = retry_seconds
        self._watch_seconds = watch_seconds
        self._entries: dict[str, dict[str, Any]] = {}
        # The order entries were first seen in: ties within a creation second.
        self._arrival: dict[str, int] = {}
        self._arrivals = 0
        self._subscribers: set[Subscription] = set()
        self.synced = asyncio.Event()
        self.last_error = ""

    # -- reading ---------------------------------------------------------------

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """This ledger's entries, newest first (at most ``limit``)."""
        ordered = newest_first(self._entries.values(), self._arrival)
        return ordered if limit is None else ordered[:limit]

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
        return bool((entry.get("spec") or {}).get("ledger", "guestbook") == self.ledger)

    def _apply(self, change: Change) -> None:
        name = change.entry["metadata"]["name"]
        if change.kind == "deleted":
            if self._entries.pop(name, None) is None:
                return
            self._arrival.pop(name, None)
        elif self._belongs(change.entry):
            self._entries[name] = change.entry
            if name not in self._arrival:
                self._arrivals += 1
                self._arrival[name] = self._arrivals
        else:
            return
        for subscription in list(self._subscribers):
            subscription.offer(change)

    def _replace_all(self, items: Iterable[dict[str, Any]]) -> None:
        fresh = {item["metadata"]["name"]: item for item in items if self._belongs(item)}
        for name, old in list(self._entries.items()):
            if name not in fresh:
                self._apply(Change("deleted", old))
        for name, item in fresh.items():
            known = self._entries.get(name)
            if known is None or known.get("metadata", {}).get("resourceVersion") != item.get(
                "metadata", {}
            ).get("resourceVersion"):
                self._apply(Change("entry", item))

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
        listed = await self._kube.list_entries(self.namespace)
        self._replace_all(listed.items)
        self.synced.set()
        self.last_error = ""
        version = listed.resource_version
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
