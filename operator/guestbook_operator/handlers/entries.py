"""GuestbookEntries: Kopf runs the life of the operator's entry controller.

Kopf does not watch entries (decision 0049: its per-event machinery cost about
2 ms of CPU and its inventory about 1 KB per live entry); the entry controller
(``guestbook_operator.entries``) does, with the one informer of
``guestbook_kube``. Kopf starts it with the operator, its Ledger daemons tell
it whether this replica is the active one (peering), and it stops at cleanup.
"""

from __future__ import annotations

from typing import Any

import kopf
from guestbook_kube.client import ApiClient
from guestbook_kube.credentials import load_settings

from guestbook_operator.entries.controller import EntryController
from guestbook_operator.resources import LEDGERS
from guestbook_operator.runtime import Runtime
from guestbook_operator.status import find_condition


@kopf.index(*LEDGERS)
def ready_ledgers(namespace: str | None, name: str, status: kopf.Status, **_: Any) -> Any:
    """Ledgers by (namespace, name): True once provisioned (Ready)."""
    ready = find_condition(status.get("conditions"), "Ready")
    return {(namespace, name): bool(ready and ready.get("status") == "True")}


@kopf.on.startup()
async def start_entry_controller(memo: Any, **kwargs: Any) -> None:
    rt = memo.get("runtime")
    if not isinstance(rt, Runtime):
        raise kopf.TemporaryError("the operator's runtime is not built yet", delay=0.1)
    index: kopf.Index[tuple[str, str], bool] = kwargs["ready_ledgers"]
    controller = EntryController(
        rt,
        ApiClient.for_cluster(load_settings(), user_agent="guestbook-operator", connections=32),
        ready=lambda namespace, ledger: any(index.get((namespace, ledger), ())),
        standalone=bool(memo.get("standalone", True)),
        namespaces=list(memo.get("namespaces") or []),
    )
    memo["entries"] = controller
    controller.start()


@kopf.on.cleanup()
async def stop_entry_controller(memo: Any, **_: Any) -> None:
    controller = memo.get("entries")
    if isinstance(controller, EntryController):
        await controller.stop()
