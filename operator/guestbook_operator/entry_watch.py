"""The operator's own list-then-watch of GuestbookEntries (decision 0049).

Like an informer without its cache: the collection is listed page by page,
then watched from the list's resourceVersion; a dropped stream resumes from
the last version seen, and 410 Gone (the version expired) lists again. No
object is kept, so memory does not grow with the number of entries, and
reading stops while the handler is busy (it is awaited), which bounds the
backlog held in the operator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from guestbook_ledger.kube_rest import CONNECTION_ERRORS, ApiClient, ApiError, Obj

log = logging.getLogger(__name__)

# kind is LISTED (from a listing: at start and after 410), ADDED, MODIFIED or DELETED.
EventHandler = Callable[[str, Obj], Awaitable[None]]

PAGE_SIZE = 500
_FIRST_DELAY, _MAX_DELAY = 0.1, 5.0


async def watch_collection(client: ApiClient, path: str, handle: EventHandler) -> None:
    """Feed every object of the collection at ``path``, then every change, to
    ``handle``; runs until cancelled. API errors and lost connections are
    retried with backoff (doubling from 0.1 s to 5 s, or the server's
    Retry-After).
    """
    version: str | None = None
    delay = _FIRST_DELAY
    while True:
        try:
            if version is None:
                version = await _list(client, path, handle)
            async for event in client.watch(path, version):
                delay = _FIRST_DELAY
                obj = event.get("object") or {}
                seen = (obj.get("metadata") or {}).get("resourceVersion")
                if seen:
                    version = str(seen)
                kind = str(event.get("type"))
                if kind != "BOOKMARK":
                    await handle(kind, obj)
        except ApiError as exc:
            if exc.code == 410:
                log.info("the watch of %s expired; listing again", path)
                version = None
                continue
            log.warning("watching %s failed, retrying in %.1f s: %s", path, delay, exc)
            await asyncio.sleep(exc.retry_after if exc.retry_after is not None else delay)
            delay = min(delay * 2, _MAX_DELAY)
        except (*CONNECTION_ERRORS, ValueError) as exc:
            log.warning("the watch of %s was interrupted, resuming in %.1f s: %s", path, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY)


async def _list(client: ApiClient, path: str, handle: EventHandler) -> str:
    version = "0"
    async for page in client.list_pages(path, limit=PAGE_SIZE):
        for item in page.get("items") or ():
            await handle("LISTED", item)
        version = str((page.get("metadata") or {}).get("resourceVersion") or version)
    return version
