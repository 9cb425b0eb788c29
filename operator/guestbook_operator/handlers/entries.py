"""GuestbookEntries: the operator's own watch feeds admission and withdrawal.

Kopf does not watch entries (decision 0049); the one informer of
``guestbook_kube`` does: its per-event machinery cost
about 2 ms of CPU and its inventory about 1 KB of memory per live entry.
Kopf runs the watch's life instead: it starts with the operator, runs while
this replica is the active one (peering), and stops at cleanup. What an
event does is in ``guestbook_operator.entries.admission``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf
from guestbook_kube.client import ApiClient
from guestbook_kube.credentials import load_settings
from guestbook_kube.informer import Informer
from guestbook_kube.resources import GROUP, VERSION, entries_path

from guestbook_operator.entries.active_replica import ActiveReplica, run_while_active
from guestbook_operator.entries.admission import EntryAdmissions
from guestbook_operator.runtime import Runtime
from guestbook_operator.status import find_condition


@kopf.index(GROUP, VERSION, "ledgers")
def ready_ledgers(namespace: str | None, name: str, status: kopf.Status, **_: Any) -> Any:
    """Ledgers by (namespace, name): True once provisioned (Ready)."""
    ready = find_condition(status.get("conditions"), "Ready")
    return {(namespace, name): bool(ready and ready.get("status") == "True")}


def entry_collections(namespaces: list[str]) -> list[str]:
    """The REST paths the operator watches: all namespaces, or each one named."""
    if not namespaces:
        return [entries_path(None)]
    return [entries_path(ns) for ns in namespaces]


@kopf.on.startup()
async def start_entry_watch(memo: Any, **kwargs: Any) -> None:
    rt = memo.get("runtime")
    if not isinstance(rt, Runtime):
        raise kopf.TemporaryError("the operator's runtime is not built yet", delay=0.1)
    index: kopf.Index[tuple[str, str], bool] = kwargs["ready_ledgers"]
    rt.replica = ActiveReplica(standalone=bool(memo.get("standalone", True)))
    rt.rest = ApiClient.for_cluster(
        load_settings(), user_agent="guestbook-operator", connections=32
    )
    admissions = EntryAdmissions(
        api=rt.rest,
        kube=rt.kube,
        db=rt.db,
        batcher=rt.batcher,
        executor=rt.executor,
        ready=lambda namespace, ledger: any(index.get((namespace, ledger), ())),
        nudge=rt.nudge,
    )
    client = rt.rest
    paths = entry_collections(list(memo.get("namespaces") or []))

    async def watch_all() -> None:
        try:
            # Entries are not kept (memory must not grow with the ledger, decision 0049);
            # reading pauses while admission is busy, which bounds the backlog.
            informers = [
                Informer(client, path, admissions.handle, keep=False, first_delay=0.1)
                for path in paths
            ]
            await asyncio.gather(*(informer.run() for informer in informers))
        finally:
            await admissions.stop()

    rt.entry_watch = asyncio.ensure_future(
        run_while_active(rt.replica, watch_all, what="the entry watch")
    )


@kopf.on.cleanup()
async def stop_entry_watch(memo: Any, **_: Any) -> None:
    rt = memo.get("runtime")
    if not isinstance(rt, Runtime):
        return
    if rt.entry_watch is not None:
        rt.entry_watch.cancel()
        await asyncio.gather(rt.entry_watch, return_exceptions=True)
    if rt.rest is not None:
        await rt.rest.aclose()
