"""List-then-watch of one collection: the one informer every component uses.

Like client-go's informer (decision 0140): list the collection page by page,
then watch from the list's resourceVersion; a stream that ends resumes from
the last version seen; 410 Gone (the version expired) lists again. Two ways
to keep what it reads:

- ``keep=True``: the informer holds every object in ``store`` and reports a
  new listing as the difference from what it held (ADDED, MODIFIED, DELETED),
  as client-go does. For small collections (the kubelet's own pods).
- ``keep=False``: nothing is held, so memory does not grow with the
  collection; a listing is reported as one LISTING event (object ``{}``),
  its items one by one as LISTED, then one SYNCED event (``{}``) when it is
  complete, so a consumer that keeps a part of the collection can drop what
  the listing no longer holds. A listing that breaks off is never SYNCED: the
  next one starts with LISTING again, and the consumer starts over. For entries
  (the operator's admission, the web UI's live feed).

Events reach the handlers in order. With ``queue`` 0 a handler is awaited
before the next event is read; with ``queue`` N up to N events wait while a
handler works, and reading pauses when they are that many: either way the
backlog held in the process is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from guestbook_kube.client import CONNECTION_ERRORS, ApiClient, ApiError, Obj

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
Handler = Callable[[str, Obj], Awaitable[None]]

LISTING, LISTED, SYNCED = "LISTING", "LISTED", "SYNCED"
PAGE_SIZE = 500


def object_key(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _version(obj: Obj) -> str | None:
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


class Informer:
    """Follows the collection at ``path`` (``params`` adds a field or label selector).

    ``handler(kind, obj)`` runs for every change; see the module docstring for
    the kinds. ``synced`` is set after the first complete listing;
    ``last_error`` says why the last list or watch failed ("" once one works).
    Failures are retried with backoff doubling from ``first_delay`` to
    ``max_delay`` seconds (or the server's Retry-After); a handler that raises
    is logged and does not stop the informer. Requires ``queue`` >= 0.
    """

    def __init__(
        self,
        client: ApiClient,
        path: str,
        handler: Handler | None = None,
        *,
        keep: bool = True,
        params: Mapping[str, str] | None = None,
        queue: int = 0,
        first_delay: float = 0.05,
        max_delay: float = 5.0,
        watch_seconds: int = 300,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._client = client
        self._path = path
        self._params = dict(params or {})
        self._handlers: list[Handler] = [] if handler is None else [handler]
        self._keep = keep
        self._queue_size = queue
        self._first_delay, self._max_delay = first_delay, max_delay
        self._watch_seconds = watch_seconds
        self._page_size = page_size
        self._queue: asyncio.Queue[tuple[str, Obj]] | None = None
        self.store: dict[Key, Obj] = {}
        self.synced = asyncio.Event()
        self.last_error = ""

    def add_handler(self, handler: Handler) -> None:
        """Also call ``handler`` for every change (before ``run`` starts)."""
        self._handlers.append(handler)

    async def run(self) -> None:
        """List and watch until cancelled."""
        if self._queue_size == 0:
            await self._follow()
            return
        self._queue = asyncio.Queue(self._queue_size)
        consumer = asyncio.ensure_future(self._consume(self._queue))
        try:
            await self._follow()
        finally:
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer

    async def _follow(self) -> None:
        delay = self._first_delay
        version: str | None = None
        expired_without_progress = False
        while True:
            try:
                if version is None:
                    version = await self._list()
                    self.synced.set()
                    self.last_error = ""
                events = 0
                async for event in self._client.watch(
                    self._path, version, self._params, timeout_seconds=self._watch_seconds
                ):
                    events += 1
                    delay = self._first_delay
                    expired_without_progress = False
                    obj = event.get("object") or {}
                    version = _version(obj) or version
                    kind = str(event.get("type"))
                    if kind != "BOOKMARK":
                        await self._observe(kind, obj)
                if not events:
                    # A stream closed without a single event (not even a bookmark):
                    # do not spin on a server that ends streams at once.
                    await asyncio.sleep(delay)
            except ApiError as exc:
                self.last_error = str(exc)
                if exc.code == 410:
                    log.info("the watch of %s expired; listing again", self._path)
                    version = None
                    # An expired watch lists again at once, but not twice in a row
                    # without an event in between.
                    if expired_without_progress:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, self._max_delay)
                    expired_without_progress = True
                    continue
                log.warning("watching %s failed, retrying in %.1f s: %s", self._path, delay, exc)
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else delay)
                delay = min(delay * 2, self._max_delay)
            except (*CONNECTION_ERRORS, ValueError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("the watch of %s broke off, resuming in %.1f s", self._path, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)

    async def _list(self) -> str:
        """List the collection, report it, and return its resourceVersion."""
        version = "0"
        fresh: dict[Key, Obj] = {}
        params = self._params or None
        if not self._keep:
            await self._emit(LISTING, {})
        async for page in self._client.list_pages(self._path, limit=self._page_size, params=params):
            version = _version(page) or version
            for item in page.get("items") or ():
                if self._keep:
                    fresh[object_key(item)] = item
                else:
                    await self._emit(LISTED, item)
        if not self._keep:
            await self._emit(SYNCED, {})
            return version
        previous, self.store = self.store, fresh
        for key, obj in previous.items():
            if key not in fresh:
                await self._emit("DELETED", obj)
        for key, obj in fresh.items():
            old = previous.get(key)
            if old is None:
                await self._emit("ADDED", obj)
            elif _version(old) != _version(obj):
                await self._emit("MODIFIED", obj)
        return version

    async def _observe(self, kind: str, obj: Obj) -> None:
        if self._keep:
            if kind == "DELETED":
                self.store.pop(object_key(obj), None)
            else:
                self.store[object_key(obj)] = obj
        await self._emit(kind, obj)

    async def _emit(self, kind: str, obj: Obj) -> None:
        if self._queue is not None:
            await self._queue.put((kind, obj))
        else:
            await self._dispatch(kind, obj)

    async def _consume(self, queue: asyncio.Queue[tuple[str, Obj]]) -> None:
        while True:
            kind, obj = await queue.get()
            await self._dispatch(kind, obj)

    async def _dispatch(self, kind: str, obj: Obj) -> None:
        for handler in self._handlers:
            try:
                await handler(kind, obj)
            except asyncio.CancelledError:
                raise
            except Exception:  # a handler bug must not stop the informer
                log.exception("handler for %s %s failed", kind, object_key(obj))
