"""Status of GuestbookEntry and Ledger resources: pure functions, no API calls.

Conditions follow the Kubernetes API conventions (type, status, reason,
message, lastTransitionTime, observedGeneration); a condition whose status
does not change keeps its lastTransitionTime. Every function returns a new
status (a JSON-ready dict for a ``/status`` merge patch) and leaves its input
alone.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

ConditionStatus = Literal["True", "False", "Unknown"]

# Phases in the only order an entry moves through them; status never goes back.
ENTRY_PHASES: tuple[str, ...] = ("Pending", "Hashing", "Sealed")


class Condition(TypedDict):
    type: str
    status: ConditionStatus
    reason: str
    message: str
    lastTransitionTime: str
    observedGeneration: int


def rfc3339(moment: datetime.datetime) -> str:
    """``moment`` as RFC 3339 UTC with second precision, as Kubernetes writes times.

    Requires an aware datetime; raises ValueError for a naive one.
    """
    if moment.tzinfo is None:
        raise ValueError("rfc3339 needs a timezone-aware datetime")
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> list[Condition]:
    """Conditions with the one of ``type`` set, the others unchanged and in order.

    ``lastTransitionTime`` becomes ``now`` only when the status changes (or the
    condition is new).
    """
    result: list[Condition] = []
    found = False
    for old in conditions or ():
        if old.get("type") != type:
            result.append(_as_condition(old))
            continue
        found = True
        same = old.get("status") == status and old.get("lastTransitionTime")
        result.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                lastTransitionTime=str(old["lastTransitionTime"]) if same else now,
                observedGeneration=generation,
            )
        )
    if not found:
        result.append(
            Condition(
                type=type,
                status=status,
                reason=reason,
                message=message,
                lastTransitionTime=now,
                observedGeneration=generation,
            )
        )
    return result


def find_condition(
    conditions: Sequence[Mapping[str, Any]] | None, type: str
) -> Mapping[str, Any] | None:
    """The condition of ``type``, or None."""
    for condition in conditions or ():
        if condition.get("type") == type:
            return condition
    return None


def _as_condition(raw: Mapping[str, Any]) -> Condition:
    return Condition(
        type=str(raw.get("type", "")),
        status=raw.get("status", "Unknown"),
        reason=str(raw.get("reason", "Unknown")),
        message=str(raw.get("message", "")),
        lastTransitionTime=str(raw.get("lastTransitionTime", "")),
        observedGeneration=int(raw.get("observedGeneration", 0)),
    )


# --- GuestbookEntry -------------------------------------------------------------


def phase_advances(old_phase: str | None, new_phase: str) -> bool:
    """True when moving from ``old_phase`` to ``new_phase`` is progress.

    Sealed is final; Failed can replace only Pending or Hashing. A status
    writer that loses a race must not move an entry back.
    """
    if old_phase == "Sealed":
        return False
    if new_phase == "Failed":
        return old_phase != "Failed"
    if old_phase not in ENTRY_PHASES:
        return True
    return ENTRY_PHASES.index(new_phase) > ENTRY_PHASES.index(old_phase)


def waiting_for_ledger_status(
    current: Mapping[str, Any] | None, *, namespace: str, ledger: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of an entry whose Ledger does not exist (yet)."""
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Admitted",
        status="False",
        reason="LedgerNotFound",
        message=(
            f'Ledger "{ledger}" does not exist in namespace "{namespace}"; the entry '
            "will be recorded as soon as it is created."
        ),
        generation=generation,
        now=now,
    )
    return {"phase": "Pending", "conditions": conditions, "observedGeneration": generation}


def admitted_entry_status(
    current: Mapping[str, Any] | None, *, namespace: str, ledger: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of an entry recorded in the ledger database as pending."""
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Admitted",
        status="True",
        reason="Recorded",
        message=f"Recorded in ledger {namespace}/{ledger}; waiting for a worker to seal it.",
        generation=generation,
        now=now,
    )
    conditions = set_condition(
        conditions,
        type="Sealed",
        status="False",
        reason="Pending",
        message="Not yet appended to the Merkle tree.",
        generation=generation,
        now=now,
    )
    return {"phase": "Pending", "conditions": conditions, "observedGeneration": generation}


def sealed_entry_status(
    current: Mapping[str, Any] | None,
    *,
    leaf_index: int,
    leaf_hash: str,
    tree_size: int,
    root_hash: str,
    sealed_at: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """Status of an entry sealed as leaf ``leaf_index`` into a tree of ``tree_size``.

    Requires ``0 <= leaf_index < tree_size``; raises ValueError otherwise.
    """
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"need 0 <= leaf_index < tree_size, got {leaf_index} and {tree_size}")
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Admitted",
        status="True",
        reason="Recorded",
        message="Recorded in the ledger database.",
        generation=generation,
        now=now,
    )
    conditions = set_condition(
        conditions,
        type="Sealed",
        status="True",
        reason="Sealed",
        message=f"Leaf {leaf_index} of the tree of size {tree_size}.",
        generation=generation,
        now=now,
    )
    return {
        "phase": "Sealed",
        "leafIndex": leaf_index,
        "leafHash": leaf_hash,
        "treeSize": tree_size,
        "rootHash": root_hash,
        "sealedAt": sealed_at,
        "conditions": conditions,
        "observedGeneration": generation,
    }


def failed_entry_status(
    current: Mapping[str, Any] | None, *, reason: str, message: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of an entry that cannot be recorded; ``message`` says what to do."""
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Admitted",
        status="False",
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    return {"phase": "Failed", "conditions": conditions, "observedGeneration": generation}


# --- Ledger ---------------------------------------------------------------------


def ledger_status(
    current: Mapping[str, Any] | None,
    *,
    tree_head: Mapping[str, Any] | None,
    key_id: str,
    public_key: str,
    pending: int,
    desired_workers: int,
    active_workers: int,
    worker_job: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """Status of a Ledger whose rows and key exist.

    ``tree_head`` is the latest signed tree head as JSON (treeSize, rootHash,
    timestamp, keyId, signature) or None before the first seal.
    """
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Ready",
        status="True",
        reason="Provisioned",
        message="Database rows and signing key exist; entries are accepted.",
        generation=generation,
        now=now,
    )
    if pending:
        progressing = set_condition(
            conditions,
            type="Progressing",
            status="True",
            reason="Sealing",
            message=f"{pending} entries waiting to be sealed by {desired_workers} workers.",
            generation=generation,
            now=now,
        )
    else:
        progressing = set_condition(
            conditions,
            type="Progressing",
            status="False",
            reason="Idle",
            message="Every admitted entry is sealed.",
            generation=generation,
            now=now,
        )
    status: dict[str, Any] = {
        "treeSize": int(tree_head["treeSize"]) if tree_head else 0,
        "keyId": key_id,
        "publicKey": public_key,
        "pending": pending,
        "desiredWorkers": desired_workers,
        "activeWorkers": active_workers,
        "workerJob": worker_job,
        "conditions": progressing,
        "observedGeneration": generation,
    }
    if tree_head:
        status["rootHash"] = tree_head["rootHash"]
        status["signedTreeHead"] = dict(tree_head)
    return status


def ledger_not_ready_status(
    current: Mapping[str, Any] | None, *, reason: str, message: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of a Ledger that cannot be provisioned; ``message`` says what to do."""
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Ready",
        status="False",
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
    return {"conditions": conditions, "observedGeneration": generation}


def audit_status(
    current: Mapping[str, Any] | None,
    *,
    verified: bool,
    tree_size: int,
    problems: Sequence[str],
    job: str,
    finished_at: str,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """``lastAudit`` and the Verified condition after an audit found ``problems``."""
    if verified:
        summary = f"Tree of size {tree_size} recomputed; every tree head and entry matches."
    else:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        summary = f"{len(problems)} mismatches: {shown}{more}"
    conditions = set_condition(
        (current or {}).get("conditions"),
        type="Verified",
        status="True" if verified else "False",
        reason="AuditPassed" if verified else "AuditFailed",
        message=summary,
        generation=generation,
        now=now,
    )
    return {
        "lastAudit": {
            "time": finished_at,
            "verified": verified,
            "treeSize": tree_size,
            "mismatches": len(problems),
            "message": summary,
            "job": job,
        },
        "conditions": conditions,
    }
