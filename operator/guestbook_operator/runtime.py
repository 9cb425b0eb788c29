"""The operator-wide pieces every Kopf handler may use, built once at startup
(``handlers/operations.py``) and kept in Kopf's ``memo``; handlers take them
with ``runtime(memo)``.

What belongs to one concern is that concern's own object, kept next to it:
the entry controller (``entries/controller.py``: the entry watch, admission,
the active-replica count); a pool daemon's memory is its Ledger's own memo.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from guestbook_operator.config import OperatorConfig
from guestbook_operator.database import Database
from guestbook_operator.entries.batcher import AdmissionBatcher
from guestbook_operator.kube import Kube
from guestbook_operator.nudges import LedgerNudges


@dataclass(frozen=True)
class Runtime:
    config: OperatorConfig
    db: Database
    # The synchronous client of Kopf's handler threads (Secrets, Jobs, statuses, events).
    kube: Kube
    # Kopf's event loop: the entry controller runs on it, nudges are set on it.
    loop: asyncio.AbstractEventLoop
    # Database calls and API writes of async code (Kopf's own pool runs sync handlers).
    executor: concurrent.futures.ThreadPoolExecutor
    # The entry controller's admission batches, on ``db`` through ``executor``.
    batcher: AdmissionBatcher
    nudges: LedgerNudges = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nudges", LedgerNudges(self.loop))


def runtime(memo: Any) -> Runtime:
    """The Runtime stored in Kopf's memo at startup."""
    found = memo.get("runtime") if hasattr(memo, "get") else None
    if not isinstance(found, Runtime):
        raise RuntimeError("the operator's startup handler has not run")
    return found
