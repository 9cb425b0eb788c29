"""List-then-watch cache of one resource, resuming watches from resourceVersion.

Like client-go's informer: list once, then watch from the list's
resourceVersion; when the stream ends it resumes from the last version seen;
when the server answers 410 Gone it lists again and reports the difference.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from guestbook_ledger.kube_rest import ApiClient, ApiError, Obj

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
Handler = Callable[[str, Obj], Awaitable[None]]


def object_key(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class Informer:
    """Keeps ``store`` equal to the server's collection at ``path``.

    ``handler(event_type, obj)`` runs for every change, in order, with type
    ADDED, MODIFIED or DELETED. ``synced`` is set after the first list.
    """

    def __init__(
        self,
        client: ApiClient,
        path: str,
        handler: Handler | None = None,
        *,
        field_selector: str | None = None,
    ) -> None:
        self._client = client
        self._path = path
        # The Node authorizer lets a kubelet list and watch only its own pods.
        self._params = {"fieldSelector": field_selector} if field_selector else {}
        self._handlers: list[Handler] = [] if handler is None else [handler]
        self.store: dict[Key, Obj] = {}
        self.synced = asyncio.Event()

    def add_handler(self, handler: Handler) -> None:
        """Also call ``handler`` for every change (before ``run`` starts)."""
        self._handlers.append(handler)

    async def run(self) -> None:
        """Run until cancelled; connection problems are retried with backoff."""
        delay = 0.05
        resource_version: str | None = None
        while True:
            try:
                if resource_version is None:
                    resource_version = await self._relist()
                    self.synced.set()
                async for event in self._client.watch(self._path, resource_version, self._params):
                    delay = 0.05
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion")
                    if version:
                        resource_version = str(version)
                    kind = str(event.get("type"))
                    if kind == "BOOKMARK":
                        continue
                    key = object_key(obj)
                    if kind == "DELETED":
                        self.store.pop(key, None)
                    else:
                        self.store[key] = obj
                    await self._dispatch(kind, obj)
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.code == 410:
                    resource_version = None  # expired: list again
                    continue
                log.debug("watch of %s failed: %s", self._path, exc)
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else delay)
                delay = min(delay * 2, 2.0)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.debug("watch of %s interrupted: %s", self._path, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _relist(self) -> str:
        listing = await self._client.list_objects(self._path, self._params)
        fresh = {object_key(item): item for item in listing.get("items") or []}
        gone = [obj for key, obj in self.store.items() if key not in fresh]
        previous = self.store
        self.store = fresh
        for obj in gone:
            await self._dispatch("DELETED", obj)
        for key, obj in fresh.items():
            old = previous.get(key)
            if old is None:
                await self._dispatch("ADDED", obj)
            elif (old.get("metadata") or {}).get("resourceVersion") != (
                obj.get("metadata") or {}
            ).get("resourceVersion"):
                await self._dispatch("MODIFIED", obj)
        return str((listing.get("metadata") or {}).get("resourceVersion") or "0")

    async def _dispatch(self, kind: str, obj: Obj) -> None:
        for handler in self._handlers:
            try:
                await handler(kind, obj)
            except asyncio.CancelledError:
                raise
            except Exception:  # a handler bug must not stop the watch
                log.exception("handler for %s %s failed", kind, object_key(obj))
