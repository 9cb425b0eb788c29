"""Catch-up witness rounds: workers ask the witnesses after every seal, but a
witness that was down or refused is asked again here, on a timer, for every
Ledger whose witnesses do not all hold its newest checkpoint, also when no
worker runs (after a witness restarts, publication catches up without a new
entry). A round that a worker is running already is left to it."""

from __future__ import annotations

from typing import Any

import kopf
from guestbook_ledger.store.errors import StoreError

from guestbook_operator.config import load_timer_intervals
from guestbook_operator.database import DATABASE_DOWN
from guestbook_operator.manifests import ledger_ref
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import runtime
from guestbook_operator.witnessing import report_witnesses, run_witness_round

# A failed round is logged and the next tick tries again.
_ROUND_ERRORS: tuple[type[Exception], ...] = (StoreError, *DATABASE_DOWN)

# Kopf takes a timer's interval when the handler is registered (the same
# variable as ``rt.config.timers``, which load_config validated before).
WITNESS_RETRY_SECONDS = load_timer_intervals().witness_retry_seconds


def witnesses_behind(ledger: dict[str, Any]) -> bool:
    """True when a witness of the spec is not shown holding the Ledger's newest
    tree head in ``status.witnesses`` (pure)."""
    spec, status = ledger.get("spec") or {}, ledger.get("status") or {}
    names = {str(w.get("name")) for w in spec.get("witnesses") or ()}
    if not names or not status.get("keyId"):
        return False
    size = int(status.get("treeSize") or 0)
    held = {str(r.get("name")): int(r.get("treeSize") or 0) for r in status.get("witnesses") or ()}
    return any(held.get(name, -1) < size for name in names)


@kopf.timer(*LEDGERS, interval=WITNESS_RETRY_SECONDS, initial_delay=WITNESS_RETRY_SECONDS)
def catch_up_witnesses(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    ledger = plain(body)
    if not witnesses_behind(ledger):
        return
    rt = runtime(memo)
    meta = ledger["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    ref = ledger_ref(ledger)
    try:
        with rt.db.connection() as conn:
            run_witness_round(
                conn,
                ref,
                lambda outcomes: report_witnesses(rt.kube, namespace, name, outcomes),
                wait=False,
            )
    except _ROUND_ERRORS as exc:
        next_in = rt.config.timers.witness_retry_seconds
        logger.warning("witness round failed, next in %.0fs: %s", next_in, exc)
