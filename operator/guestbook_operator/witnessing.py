"""Asking a ledger's witnesses to cosign its newest checkpoint, and saying how it went.

For each witness of the ledger's policy that has not cosigned the newest
checkpoint: send it with the consistency proof from the size the witness last
cosigned (C2SP tlog-witness), verify and store the cosignatures. A witness that
refuses or cannot be reached only delays publication (`published_checkpoint`):
sealing never waits for witnesses. Rounds run on a thread of their own in
worker pods (after every seal) and on the operator's catch-up timer
(handlers/witnesses.py); a database lock lets one round per ledger run at a
time. Each round's outcome goes into ``status.witnesses``; a refusal is a
Warning event naming the witness, once per refusal.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guestbook_ledger.store.heads import latest_checkpoint, latest_tree_head
from guestbook_ledger.store.proofs import consistency_proof
from guestbook_ledger.store.schema import Connection
from guestbook_ledger.store.witnesses import (
    latest_cosignature,
    record_cosignatures,
    witness_policy,
    witness_round_lock,
)

from guestbook_operator.kube import Kube
from guestbook_operator.status import rfc3339, witness_status_entry
from guestbook_operator.witness_client import WitnessError, submit_checkpoint

log = logging.getLogger("guestbook.witnessing")

# Seconds one witness has to answer one request, the whole exchange.
WITNESS_TIMEOUT_SECONDS = 5.0

# Outcomes that may mean the ledger showed this witness another history.
FORK_SIGNS = frozenset({"conflict", "refused", "bad-signature", "garbage"})


@dataclass(frozen=True)
class WitnessOutcome:
    """What one witness holds after a round: it cosigned ``tree_size`` last (its
    cosignature's ``timestamp``, POSIX seconds, and when it was ``received_at``),
    ``cosigned`` is True when that is the newest checkpoint; otherwise ``error``
    (a WitnessError kind, empty when it was not asked) and ``message`` say why."""

    name: str
    tree_size: int
    cosigned: bool
    error: str = ""
    message: str = ""
    attempted_size: int = 0
    timestamp: int | None = None
    received_at: datetime.datetime | None = None

    def status(self, checked_at: str) -> dict[str, object]:
        """The entry of ``status.witnesses`` for this witness."""
        return witness_status_entry(
            name=self.name,
            tree_size=self.tree_size,
            cosigned=self.cosigned,
            error=self.error,
            message=self.message,
            attempted_size=self.attempted_size,
            cosigned_at=self.timestamp,
            received_at=self.received_at,
            checked_at=checked_at,
        )


def witness_round(
    conn: Connection, ledger: str, *, timeout: float = WITNESS_TIMEOUT_SECONDS
) -> list[WitnessOutcome]:
    """Bring every witness of ``ledger`` up to its newest checkpoint; one outcome
    per witness (``tree_size`` is what the witness holds afterwards). Witnesses
    are asked one after the other, each for at most ``timeout`` seconds per
    request. The caller holds the witness-round lock (see `run_witness_round`)."""
    policy = witness_policy(conn, ledger)
    head = latest_checkpoint(conn, ledger)
    if policy is None or head is None:
        return []
    outcomes = []
    for witness in policy.witnesses:
        stored = latest_cosignature(conn, ledger, witness.cosigner)
        held = stored.tree_size if stored else 0
        error, message = "", ""
        if held < head.tree_size:
            target = head
            for _ in range(2):
                try:
                    result = submit_checkpoint(
                        witness.url,
                        witness.cosigner,
                        target.note(),
                        _proof_from(conn, ledger, target.tree_size),
                        old_size=held,
                        timeout=timeout,
                    )
                except WitnessError as exc:
                    error, message = exc.kind, str(exc)
                    if exc.kind == "ahead" and exc.held is not None:
                        newest = latest_tree_head(conn, ledger)
                        newest_size = newest.tree_size if newest else 0
                        if exc.held > newest_size:
                            error = "conflict"
                            message = (
                                f"witness {witness.name} holds size {exc.held}, larger than this "
                                f"ledger has ever been ({newest_size}): it was shown another "
                                "tree (a possible fork)"
                            )
                        else:
                            # A round's answer was lost; the witness holds a newer
                            # checkpoint of ours: send the newest.
                            found = latest_checkpoint(conn, ledger)
                            if found is not None and found.tree_size >= exc.held:
                                target = found
                                continue
                    log.warning(
                        "witness %s did not cosign size %d: %s",
                        witness.name,
                        target.tree_size,
                        message,
                    )
                    break
                record_cosignatures(conn, ledger, target.tree_size, result.cosignatures)
                error, message = "", ""
                break
            stored = latest_cosignature(conn, ledger, witness.cosigner)
        held = stored.tree_size if stored else 0
        outcomes.append(
            WitnessOutcome(
                witness.name,
                held,
                cosigned=held >= head.tree_size,
                error=error,
                message=message,
                attempted_size=head.tree_size,
                timestamp=stored.timestamp if stored else None,
                received_at=stored.received_at if stored else None,
            )
        )
    return outcomes


def _proof_from(conn: Connection, ledger: str, size: int) -> Callable[[int], list[bytes]]:
    return lambda old: consistency_proof(conn, ledger, old, size)


def run_witness_round(
    conn: Connection,
    ledger: str,
    report: Callable[[list[WitnessOutcome]], None],
    *,
    wait: bool,
    timeout: float = WITNESS_TIMEOUT_SECONDS,
) -> bool:
    """`witness_round` under the ledger's witness-round lock, then ``report`` its
    outcomes (still under the lock, so reports arrive in the order of the rounds).
    Without ``wait``, returns False at once when another round runs."""
    with witness_round_lock(conn, ledger, wait=wait) as locked:
        if not locked:
            return False
        report(witness_round(conn, ledger, timeout=timeout))
    return True


def refusals_to_report(
    outcomes: Sequence[WitnessOutcome], previous: Sequence[Mapping[str, Any]] | None
) -> list[WitnessOutcome]:
    """The outcomes that deserve a Warning event: refusals (a possible fork) not
    already shown in ``previous`` (``status.witnesses``) for the same checkpoint
    and kind of refusal, so a witness that keeps refusing is one event, not one
    per round (pure)."""
    shown = {
        (str(entry.get("name")), str(entry.get("result")), entry.get("attemptedSize"))
        for entry in previous or ()
    }
    found = []
    for outcome in outcomes:
        if outcome.error not in FORK_SIGNS:
            continue
        entry = outcome.status("")
        if (outcome.name, entry["result"], outcome.attempted_size) not in shown:
            found.append(outcome)
    return found


def report_witnesses(kube: Kube, namespace: str, name: str, outcomes: list[WitnessOutcome]) -> None:
    """Show a witness round in ``status.witnesses``; a refusal or a bad
    cosignature (a possible fork) is also a Warning event naming the witness."""
    if not outcomes:
        return
    now = rfc3339(datetime.datetime.now(datetime.UTC))
    try:
        ledger = kube.get_ledger(namespace, name)
        if ledger is None:
            return  # deleted: nothing to report on
        previous = (ledger.get("status") or {}).get("witnesses")
        kube.patch_ledger_status(
            namespace, name, {"witnesses": [outcome.status(now) for outcome in outcomes]}
        )
        for outcome in refusals_to_report(outcomes, previous):
            kube.post_event(
                ledger,
                type="Warning",
                reason="WitnessRefused",
                message=f"Witness {outcome.name} did not cosign the checkpoint of size "
                f"{outcome.attempted_size} ({outcome.error}): {outcome.message}"[:1000],
            )
    except Exception as exc:  # status and events are a view; the database keeps the truth
        log.warning("could not report the witnesses: %s", exc)


class WitnessingThread:
    """Runs `run_witness_round` whenever `nudge` is called, one round at a time, on a
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
                    run_witness_round(conn, self._ledger, self._report, wait=True)
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
