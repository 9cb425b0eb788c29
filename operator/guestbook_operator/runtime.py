"""What every handler shares: settings, the database pool, the API client.

Built once at startup and kept in Kopf's ``memo``; handlers take it with
``runtime(memo)``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass, field
from typing import Any

from guestbook_kube.client import ApiClient

from guestbook_operator.config import OperatorConfig
from guestbook_operator.database import Database
from guestbook_operator.entries.active_replica import ActiveReplica
from guestbook_operator.entries.batcher import AdmissionBatcher
from guestbook_operator.kube import Kube


@dataclass
class Runtime:
    config: OperatorConfig
    db: Database
    kube: Kube
    loop: asyncio.AbstractEventLoop
    # API writes and database calls of async handlers (Kopf's own pool runs sync handlers).
    executor: concurrent.futures.ThreadPoolExecutor
    batcher: AdmissionBatcher
    # Per ledger ("ns/name"): wakes its pool daemon early when work arrives.
    _nudges: dict[str, asyncio.Event] = field(default_factory=dict)
    # Per ledger: the last tree size seen, for the sealed-entries metrics.
    tree_sizes: dict[str, int] = field(default_factory=dict)
    # Worker Jobs already reported as failed (events and metrics count each once).
    failed_jobs: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Set by the entry watch's startup handler (handlers/entries.py).
    replica: ActiveReplica | None = None
    rest: ApiClient | None = None
    entry_watch: asyncio.Future[None] | None = None

    def nudge_event(self, ledger: str) -> asyncio.Event:
        """The event a ledger's daemon waits on (call from the event loop)."""
        return self._nudges.setdefault(ledger, asyncio.Event())

    def nudge(self, ledger: str) -> None:
        """Wake the ledger's pool daemon now; safe from any thread."""
        event = self._nudges.get(ledger)
        if event is not None:
            self.loop.call_soon_threadsafe(event.set)


def runtime(memo: Any) -> Runtime:
    """The Runtime stored in Kopf's memo at startup."""
    found = memo.get("runtime") if hasattr(memo, "get") else None
    if not isinstance(found, Runtime):
        raise RuntimeError("the operator's startup handler has not run")
    return found
