"""Whether this operator replica is the active one, for work Kopf does not run.

Kopf pauses a replica that loses the peering election by stopping its watches
and every daemon. The entry watch is ours, not Kopf's (decision 0049), so it
follows the daemons: with peering, the replica is active while Kopf runs at
least one of its Ledger daemons; standalone, always.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger(__name__)


class ActiveReplica:
    """Counts the Ledger daemons Kopf runs; create and use it on the event loop."""

    def __init__(self, *, standalone: bool) -> None:
        self._standalone = standalone
        self._daemons = 0
        self._changed = asyncio.Event()

    @property
    def active(self) -> bool:
        return self._standalone or self._daemons > 0

    @contextlib.contextmanager
    def daemon_running(self) -> Iterator[None]:
        """Wrap a Ledger daemon's life: the replica is active while any runs."""
        self._daemons += 1
        self._changed.set()
        try:
            yield
        finally:
            self._daemons -= 1
            self._changed.set()

    async def wait_until(self, active: bool) -> None:
        """Return once ``self.active == active``."""
        while self.active != active:
            self._changed.clear()
            await self._changed.wait()


async def run_while_active(
    replica: ActiveReplica, work: Callable[[], Awaitable[None]], *, what: str
) -> None:
    """Run ``work()`` whenever ``replica`` is active; cancel it when it is not.

    ``work`` is expected to run until cancelled; if it fails it is started
    again after a second. Runs until cancelled itself.
    """
    while True:
        await replica.wait_until(True)
        task = asyncio.ensure_future(work())
        paused = asyncio.ensure_future(replica.wait_until(False))
        try:
            await asyncio.wait({task, paused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (task, paused):
                pending.cancel()
            await asyncio.gather(task, paused, return_exceptions=True)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("%s failed, restarting it in 1 s: %s", what, task.exception())
            await asyncio.sleep(1.0)
        elif not paused.cancelled():
            log.info("%s stopped: this replica is paused", what)
