"""Wake-ups of the Ledgers' pool daemons: admission, provisioning and repair say
"work arrived", so a daemon starts its next round now rather than after its
interval (``GUESTBOOK_RECONCILE_INTERVAL``)."""

from __future__ import annotations

import asyncio


class LedgerNudges:
    """One event per ledger ("ns/name") on the operator's event loop ``loop``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._events: dict[str, asyncio.Event] = {}

    def event(self, ledger: str) -> asyncio.Event:
        """The event the ledger's daemon waits on; call from the event loop."""
        return self._events.setdefault(ledger, asyncio.Event())

    def nudge(self, ledger: str) -> None:
        """Wake the ledger's pool daemon now; safe from any thread.

        On the loop itself (admission) the event is set directly, without a
        round trip through ``call_soon_threadsafe``; from a handler thread
        (provisioning, repair) it is handed to the loop.
        """
        event = self._events.get(ledger)
        if event is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            event.set()
        else:
            self._loop.call_soon_threadsafe(event.set)
