"""Entry status writes for synchronous callers, over the async REST client.

A worker writes the status of every entry it sealed, about a thousand per
batch. Through the `kubernetes` client from a thread pool that cost ~0.4 ms
of CPU per entry; aiohttp requests from one event loop cost a fraction of it
(decision 0049). The worker and the operator's repair pass are synchronous, so
the writer owns that loop in a background thread and hands each batch to it;
the process's other REST calls (``Kube``: the Ledger's status, events) run on
the same loop and connections (``call``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from guestbook_kube.client import CONNECTION_ERRORS, ApiClient, ApiError, with_retries
from guestbook_kube.resources import ENTRY_PLURAL as ENTRY_PLURAL  # kube.py imports it from here
from guestbook_kube.resources import entries_path

T = TypeVar("T")

# A precondition of the patch failed: a ``test`` (422 Invalid), or a conflict
# (409) that an API server may still answer. The entry is not the one the status
# was computed for (another uid) or not in the state it was computed from.
STALE_CODES = frozenset({409, 422})
# Nothing to write the status on: the entry is gone (404) or stale (above). The
# ledger keeps the entry either way; the operator's repair pass rewrites a live one.
SKIPPED_CODES = frozenset({404}) | STALE_CODES


@dataclass(frozen=True)
class EntryStatusWrite:
    """One entry's whole new status.

    ``uid`` guards against a re-created namesake; ``resource_version``, when
    given, is the version the status was decided from (the operator's writes),
    so a write that lost a race changes nothing.
    """

    namespace: str
    name: str
    uid: str
    status: Mapping[str, Any]
    resource_version: str = ""


def entry_status_patch(write: EntryStatusWrite) -> list[dict[str, Any]]:
    """The JSON patch (RFC 6902) of every entry status write (decision 0148):
    ``test`` the uid (and ``write.resource_version`` when given), then ``add``
    the whole status.

    Not a merge patch carrying ``metadata.uid``: on a custom resource's status
    subresource the API server copies the stored metadata over the patched
    object before validating it, so that uid is ignored and a namesake would be
    overwritten. A ``test`` runs against the stored object and fails with 422
    Invalid. ``add`` replaces the whole status, which is what the callers
    compute (every field the status schema has for that phase).
    """
    tests = [{"op": "test", "path": "/metadata/uid", "value": write.uid}]
    if write.resource_version:
        tests.append(
            {"op": "test", "path": "/metadata/resourceVersion", "value": write.resource_version}
        )
    return [*tests, {"op": "add", "path": "/status", "value": dict(write.status)}]


class EntryStatusWriter:
    """Writes entry statuses concurrently from an event loop in its own thread.

    ``connect`` builds the REST client; it is called inside that loop (an
    aiohttp session belongs to one loop). Raises what ``connect`` raises.
    ``write`` may be called from any thread except the writer's own; call
    ``close`` at the end.
    """

    def __init__(
        self,
        connect: Callable[[], ApiClient],
        *,
        in_flight: int = 32,
        attempts: int = 4,
    ) -> None:
        if in_flight < 1 or attempts < 1:
            raise ValueError(f"need in_flight >= 1 and attempts >= 1, got {in_flight}, {attempts}")
        self._in_flight = in_flight
        self._attempts = attempts
        self._lock = threading.Lock()
        self._closed = False
        self._writing: set[concurrent.futures.Future[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="entry-status-writer", daemon=True
        )
        self._thread.start()
        try:
            self._client = self._run(self._connect(connect))
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _connect(connect: Callable[[], ApiClient]) -> ApiClient:
        return connect()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def close(self) -> None:
        """Let the batches already handed over finish, then close the client's
        connections and end the loop's thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            writing = list(self._writing)
        # A batch cut off by a stopped loop would leave its caller waiting forever.
        concurrent.futures.wait(writing)
        try:
            self._run(self._client.aclose())
        finally:
            self._stop_loop()

    def write(self, writes: Iterable[EntryStatusWrite]) -> list[str]:
        """Write each status (JSON patch of the status subresource); return the
        names that could not be written, in the order given.

        Blocks until every write is done. Transient failures (5xx, 429, lost
        connections) are retried ``attempts`` times in all. An entry that is
        gone, re-created under the same name (another uid) or conflicting is
        skipped silently (``SKIPPED_CODES``); other failures are returned so the
        caller can log them (the operator's repair pass writes them later).
        Raises RuntimeError after ``close``.
        """
        batch = list(writes)
        if not batch:
            return []
        return self._submit(self._write_all(batch))

    def call(self, request: Callable[[ApiClient], Awaitable[T]]) -> T:
        """Run ``request(client)`` on the writer's loop and return its result.

        For the process's few other REST calls (the Ledger's status, events), which
        share the writer's connections rather than start another loop. Blocks; raises
        what ``request`` raises, and RuntimeError after ``close``.
        """

        async def run() -> T:
            return await request(self._client)

        return self._submit(run())

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> T:
        with self._lock:
            if self._closed:
                coroutine.close()
                raise RuntimeError("the entry status writer is closed")
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
            self._writing.add(future)
        try:
            return future.result()
        finally:
            with self._lock:
                self._writing.discard(future)

    async def _write_all(self, batch: list[EntryStatusWrite]) -> list[str]:
        written = [False] * len(batch)
        pending = iter(enumerate(batch))

        async def drain() -> None:
            # A few long-lived coroutines sharing one iterator: cheaper than a
            # task per entry behind a semaphore.
            for index, write in pending:
                written[index] = await self._write_one(write)

        await asyncio.gather(*(drain() for _ in range(min(self._in_flight, len(batch)))))
        return [write.name for write, ok in zip(batch, written, strict=True) if not ok]

    async def _write_one(self, write: EntryStatusWrite) -> bool:
        """True when written or skipped; False when it failed."""
        path = entries_path(write.namespace, write.name) + "/status"
        patch = entry_status_patch(write)
        try:
            # json_patch answers None for 404: the entry is gone, which counts as done.
            await with_retries(
                lambda: self._client.json_patch(path, patch), attempts=self._attempts
            )
        except ApiError as exc:
            return exc.code in SKIPPED_CODES
        except CONNECTION_ERRORS:
            return False
        return True
