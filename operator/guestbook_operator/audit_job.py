"""What the audit Job's pod runs: the store's full audit of a ledger, plus a
comparison of the live GuestbookEntry resources with their leaves; the result
goes into the Ledger's status and a Warning event names every mismatch."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from guestbook_kube.resources import API_VERSION, entry_ledger
from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.names import parse_ledger_name
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.audit import audit_ledger
from guestbook_ledger.store.entries import entry_by_uid
from guestbook_ledger.store.schema import Connection

from guestbook_operator.kube import Kube
from guestbook_operator.status import audit_status, rfc3339

# A tampered ledger can produce thousands of findings; events beyond this are summarised.
MAX_EVENTS = 100


@dataclass(frozen=True)
class Problem:
    """One mismatch; ``entry`` names the GuestbookEntry when there is one."""

    message: str
    entry: str | None = None


@dataclass
class AuditOutcome:
    tree_size: int = 0
    entries_compared: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems


def compare_resource(ref: str, entry: dict[str, Any], stored: Any) -> list[str]:
    """Mismatches between a Sealed entry resource and its stored leaf (pure).

    ``stored`` is the store's StoredEntry for the resource's uid, or None.
    """
    meta, spec, status = entry["metadata"], entry.get("spec") or {}, entry.get("status") or {}
    if stored is None or stored.state != "sealed" or stored.leaf_hash is None:
        return ["shows Sealed, but the ledger has no sealed entry with its uid"]
    found = []
    if status.get("leafIndex") != stored.leaf_index:
        found.append(
            f"shows leaf index {status.get('leafIndex')}, the ledger has {stored.leaf_index}"
        )
    if status.get("leafHash") != stored.leaf_hash.hex():
        found.append(f"shows leaf hash {status.get('leafHash')}, the ledger has a different one")
    try:
        record = entry_record(
            ledger=ref,
            entry=meta["name"],
            uid=meta["uid"],
            author=str(spec.get("author") or ""),
            message=str(spec.get("message") or ""),
            submitted_at=str(meta.get("creationTimestamp", "")),
        )
    except RecordError as exc:
        return [*found, f"cannot form its record: {exc}"]
    if leaf_hash(record) != stored.leaf_hash:
        found.append(
            f"its author, message or timestamp no longer hash to leaf {stored.leaf_index} "
            "of the ledger"
        )
    return found


def run_audit(conn: Connection, kube: Kube, ref: str) -> AuditOutcome:
    """Audit ``NAMESPACE/NAME`` in the database and against its live resources.

    Raises the store's errors (the pod fails; the next interval tries again).
    """
    namespace, name = parse_ledger_name(ref)
    report = audit_ledger(conn, ref)
    outcome = AuditOutcome(tree_size=report.entries_checked)
    for mismatch in report.mismatches:
        outcome.problems.append(Problem(mismatch.description, mismatch.entry_name))
    for entry in kube.entries(namespace):
        if entry_ledger(entry) != name:
            continue
        if (entry.get("status") or {}).get("phase") != "Sealed":
            continue
        meta = entry["metadata"]
        stored = entry_by_uid(conn, ref, meta["uid"])
        outcome.entries_compared += 1
        for sentence in compare_resource(ref, entry, stored):
            outcome.problems.append(
                Problem(f"entry {namespace}/{meta['name']} {sentence}", meta["name"])
            )
    return outcome


def publish_audit(kube: Kube, ref: str, outcome: AuditOutcome, job: str) -> None:
    """Events for the findings, then ``status.lastAudit`` and the Verified condition."""
    namespace, name = parse_ledger_name(ref)
    ledger = kube.get_ledger(namespace, name)
    if ledger is None:
        return  # deleted while auditing: nothing to report on
    ledger.setdefault("apiVersion", API_VERSION)
    ledger.setdefault("kind", "Ledger")
    for problem in outcome.problems[:MAX_EVENTS]:
        involved: dict[str, Any] = ledger
        if problem.entry:
            entry = kube.get_entry(namespace, problem.entry)
            if entry is not None:
                involved = entry
        text = problem.message
        if problem.entry and problem.entry not in text:
            text = f"entry {namespace}/{problem.entry}: {text}"
        kube.post_event(involved, type="Warning", reason="AuditMismatch", message=text)
        if involved is not ledger:
            kube.post_event(ledger, type="Warning", reason="AuditMismatch", message=text)
    now = rfc3339(datetime.datetime.now(datetime.UTC))
    status = audit_status(
        ledger.get("status"),
        verified=outcome.verified,
        tree_size=outcome.tree_size,
        problems=[p.message for p in outcome.problems],
        job=job,
        finished_at=now,
        generation=int(ledger["metadata"].get("generation") or 1),
        now=now,
    )
    kube.patch_ledger_status(namespace, name, status)
    if outcome.verified:
        kube.post_event(
            ledger,
            type="Normal",
            reason="AuditPassed",
            message=f"{outcome.tree_size} entries recomputed, {outcome.entries_compared} "
            "entry resources compared; no mismatch.",
        )
    else:
        kube.post_event(
            ledger,
            type="Warning",
            reason="AuditFailed",
            message=f"{len(outcome.problems)} mismatches; see the AuditMismatch events.",
        )
