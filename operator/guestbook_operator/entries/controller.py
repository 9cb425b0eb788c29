"""The entry controller: the operator's entry watch, admission and withdrawal,
as one object that ``handlers/entries.py`` starts and stops (the walk-through
of one entry is in this package's docstring, ``entries/__init__.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from guestbook_kube.client import ApiClient
from guestbook_kube.informer import Informer
from guestbook_kube.resources import entries_path

from guestbook_operator.entries.active_replica import ActiveReplica, run_while_active
from guestbook_operator.entries.admission import ConditionClock, EntryAdmissions, ReadyLedgers
from guestbook_operator.runtime import Runtime


def entry_collections(namespaces: list[str]) -> list[str]:
    """The REST paths the operator watches: all namespaces, or each one named."""
    if not namespaces:
        return [entries_path(None)]
    return [entries_path(ns) for ns in namespaces]


class EntryController:
    """Watches GuestbookEntries and admits them while this replica is active.

    Build and use it on the operator's event loop (``rt.loop``); it owns
    ``rest`` (closed by ``stop``), the ActiveReplica the Ledger daemons report
    to, and the clock conditions carry. ``ready`` is Kopf's index of Ledgers.
    """

    def __init__(
        self,
        rt: Runtime,
        rest: ApiClient,
        *,
        ready: ReadyLedgers,
        standalone: bool,
        namespaces: list[str],
    ) -> None:
        self.replica = ActiveReplica(standalone=standalone)
        self._rest = rest
        self._paths = entry_collections(namespaces)
        self._admissions = EntryAdmissions(
            api=rest,
            kube=rt.kube,
            db=rt.db,
            batcher=rt.batcher,
            executor=rt.executor,
            ready=ready,
            nudge=rt.nudges.nudge,
            clock=ConditionClock(),
        )
        self._task: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Run the watch whenever this replica is active, until ``stop``."""
        self._task = asyncio.ensure_future(
            run_while_active(self.replica, self._watch, what="the entry watch")
        )

    async def stop(self) -> None:
        """Stop the watch, cancel the admissions in flight, close the client."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._rest.aclose()

    async def _watch(self) -> None:
        try:
            # Entries are not kept (memory must not grow with the ledger, decision 0049);
            # handlers are awaited in order, so reading pauses while admission is
            # busy (1,000 in flight), which keeps the backlog in the API server.
            informers = [
                Informer(self._rest, path, self._admissions.handle, keep=False, first_delay=0.1)
                for path in self._paths
            ]
            await asyncio.gather(*(informer.run() for informer in informers))
        finally:
            await self._admissions.stop()


def entry_controller(memo: Any) -> EntryController:
    """The EntryController ``handlers/entries.py`` stored in Kopf's memo at startup."""
    found = memo.get("entries") if hasattr(memo, "get") else None
    if not isinstance(found, EntryController):
        raise RuntimeError("the entry controller's startup handler has not run")
    return found
