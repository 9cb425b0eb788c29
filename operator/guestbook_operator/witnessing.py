"""Asking a ledger's witnesses to cosign its newest checkpoint (after a seal).

For each witness of the ledger's policy that has not cosigned the newest
checkpoint: send it with the consistency proof from the size the witness last
cosigned (C2SP tlog-witness), verify and store the cosignatures. A witness that
refuses or cannot be reached only delays publication (`published_checkpoint`):
sealing never waits for witnesses. Runs on its own thread in worker pods.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from guestbook_ledger.store.heads import latest_checkpoint
from guestbook_ledger.store.proofs import consistency_proof
from guestbook_ledger.store.schema import Connection
from guestbook_ledger.store.witnesses import (
    record_cosignatures,
    witness_policy,
    witnessed_size,
)
from guestbook_ledger.witness_client import WitnessError, submit_checkpoint

log = logging.getLogger("guestbook.witnessing")


@dataclass(frozen=True)
class WitnessOutcome:
    """What one witness did with the newest checkpoint: ``cosigned`` the size
    ``tree_size``, or not, with ``error`` (a WitnessError kind) and ``message``."""

    name: str
    tree_size: int
    cosigned: bool
    error: str = ""
    message: str = ""

    def status(self) -> dict[str, object]:
        """The entry of ``status.witnesses`` for this witness."""
        entry: dict[str, object] = {"name": self.name, "treeSize": self.tree_size}
        if self.error:
            entry["error"] = f"{self.error}: {self.message}"[:1000]
        return entry


def witness_round(conn: Connection, ledger: str, *, timeout: float = 5.0) -> list[WitnessOutcome]:
    """Bring every witness of ``ledger`` up to its newest checkpoint; one outcome
    per witness (``tree_size`` is what the witness holds afterwards)."""
    policy = witness_policy(conn, ledger)
    head = latest_checkpoint(conn, ledger)
    if policy is None or head is None:
        return []
    note = head.note()
    outcomes = []
    for witness in policy.witnesses:
        held = witnessed_size(conn, ledger, witness.cosigner)
        if held >= head.tree_size:
            outcomes.append(WitnessOutcome(witness.name, held, cosigned=True))
            continue
        try:
            result = submit_checkpoint(
                witness.url,
                witness.cosigner,
                note,
                lambda old: consistency_proof(conn, ledger, old, head.tree_size),
                old_size=held,
                timeout=timeout,
            )
        except WitnessError as exc:
            log.warning("witness %s did not cosign size %d: %s", witness.name, head.tree_size, exc)
            outcomes.append(WitnessOutcome(witness.name, held, False, exc.kind, str(exc)))
            continue
        record_cosignatures(conn, ledger, head.tree_size, result.cosignatures)
        outcomes.append(WitnessOutcome(witness.name, head.tree_size, cosigned=True))
    return outcomes


class WitnessingThread:
    """Runs `witness_round` whenever `nudge` is called, one round at a time, on a
    daemon thread with its own connection; ``report`` gets each round's outcomes."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        ledger: str,
        report: Callable[[list[WitnessOutcome]], None],
    ) -> None:
        self._connect = connect
        self._ledger = ledger
        self._report = report
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="witnessing", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def close(self, timeout: float = 15.0) -> None:
        """Finish the round under way (and one more if nudged), then stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        conn: Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                try:
                    if conn is None:
                        conn = self._connect()
                    self._report(witness_round(conn, self._ledger))
                except Exception:  # a witness round must never end the worker
                    log.exception("witness round failed")
                    if conn is not None:
                        conn.close()
                        conn = None
                if self._stop.is_set() and not self._wake.is_set():
                    return
        finally:
            if conn is not None:
                conn.close()
