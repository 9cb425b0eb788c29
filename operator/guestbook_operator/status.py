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
from typing import Any, Literal, NamedTuple, TypedDict

from guestbook_ledger.format.checkpoint import TreeHead

ConditionStatus = Literal["True", "False", "Unknown"]


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
    result = [_as_condition(old) for old in conditions or ()]
    at = next((i for i, old in enumerate(result) if old["type"] == type), len(result))
    kept = result[at : at + 1]
    unchanged = bool(kept) and kept[0]["status"] == status and kept[0]["lastTransitionTime"]
    result[at : at + 1] = [
        Condition(
            type=type,
            status=status,
            reason=reason,
            message=message,
            lastTransitionTime=kept[0]["lastTransitionTime"] if unchanged else now,
            observedGeneration=generation,
        )
    ]
    return result


class ConditionChange(NamedTuple):
    """One condition to set: its type, status, reason and message."""

    type: str
    status: ConditionStatus
    reason: str
    message: str


def updated_conditions(
    current: Mapping[str, Any] | None,
    *changes: ConditionChange,
    generation: int,
    now: str,
) -> list[Condition]:
    """The conditions of status ``current`` with ``changes`` applied in order
    (each as `set_condition` does)."""
    conditions: Sequence[Mapping[str, Any]] | None = (current or {}).get("conditions")
    result: list[Condition] = []
    for change in changes:
        result = set_condition(
            conditions,
            type=change.type,
            status=change.status,
            reason=change.reason,
            message=change.message,
            generation=generation,
            now=now,
        )
        conditions = result
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


def waiting_for_ledger_status(
    current: Mapping[str, Any] | None,
    *,
    namespace: str,
    ledger: str,
    generation: int,
    now: str,
    exists: bool = False,
) -> dict[str, Any]:
    """Status of an entry whose Ledger does not exist (yet), or, with
    ``exists``, exists but is not provisioned yet."""
    if exists:
        reason = "LedgerNotReady"
        message = (
            f'Ledger "{ledger}" in namespace "{namespace}" is not ready yet; the entry '
            "will be recorded as soon as it is."
        )
    else:
        reason = "LedgerNotFound"
        message = (
            f'Ledger "{ledger}" does not exist in namespace "{namespace}"; the entry '
            "will be recorded as soon as it is created."
        )
    conditions = updated_conditions(
        current,
        ConditionChange("Admitted", "False", reason, message),
        generation=generation,
        now=now,
    )
    return {"phase": "Pending", "conditions": conditions, "observedGeneration": generation}


def admitted_entry_status(
    current: Mapping[str, Any] | None, *, namespace: str, ledger: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of an entry recorded in the ledger database as pending."""
    conditions = updated_conditions(
        current,
        ConditionChange(
            "Admitted",
            "True",
            "Recorded",
            f"Recorded in ledger {namespace}/{ledger}; waiting for a worker to seal it.",
        ),
        ConditionChange("Sealed", "False", "Pending", "Not yet appended to the Merkle tree."),
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
    conditions = updated_conditions(
        current,
        ConditionChange("Admitted", "True", "Recorded", "Recorded in the ledger database."),
        ConditionChange(
            "Sealed", "True", "Sealed", f"Leaf {leaf_index} of the tree of size {tree_size}."
        ),
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


def entry_sealed_into(
    current: Mapping[str, Any] | None,
    *,
    leaf_index: int,
    leaf_hash: bytes,
    head: TreeHead,
    generation: int,
    now: str,
) -> dict[str, Any]:
    """`sealed_entry_status` of leaf ``leaf_index`` whose first tree is ``head``'s
    (so ``sealedAt`` is the head's timestamp).

    Requires ``leaf_index < head.tree_size``; raises ValueError otherwise.
    """
    return sealed_entry_status(
        current,
        leaf_index=leaf_index,
        leaf_hash=leaf_hash.hex(),
        tree_size=head.tree_size,
        root_hash=head.root_hash.hex(),
        sealed_at=head.timestamp,
        generation=generation,
        now=now,
    )


def failed_entry_status(
    current: Mapping[str, Any] | None, *, reason: str, message: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of an entry that can never be recorded, so never sealed (final);
    ``message`` says why and what to do."""
    conditions = updated_conditions(
        current,
        ConditionChange("Admitted", "False", reason, message),
        ConditionChange("Sealed", "False", reason, "Never appended: the entry was not recorded."),
        generation=generation,
        now=now,
    )
    return {"phase": "Failed", "conditions": conditions, "observedGeneration": generation}


# --- Ledger ---------------------------------------------------------------------

LEDGER_READY = ConditionChange(
    "Ready", "True", "Provisioned", "Database rows and signing key exist; entries are accepted."
)
# Ready's reason while the ledger database does not answer (decision 0133).
DATABASE_UNAVAILABLE = "DatabaseUnavailable"


def blocked_by_provisioning(status: Mapping[str, Any] | None) -> bool:
    """True when Ready is False for a reason provisioning must resolve (a missing
    Secret, ServiceAccount, key...): no workers until it does. A database outage
    does not count; the pool reports that and its end itself."""
    ready = find_condition((status or {}).get("conditions"), "Ready") or {}
    return ready.get("status") == "False" and ready.get("reason") != DATABASE_UNAVAILABLE


def tree_head_status(tree_head: Mapping[str, Any]) -> dict[str, Any]:
    """The Ledger status fields that show its latest tree head (``to_dict()`` of a
    checkpoint or of a ledger format v1 JSON head): ``treeSize``, ``rootHash``
    and either ``checkpoint`` (the signed note) or ``signedTreeHead``. A
    checkpoint's status removes an older ``signedTreeHead`` (null in a merge
    patch), so the status never shows two different heads."""
    status: dict[str, Any] = {
        "treeSize": int(tree_head["treeSize"]),
        "rootHash": tree_head["rootHash"],
    }
    if tree_head.get("format") == "checkpoint":
        status["checkpoint"] = tree_head["checkpoint"]
        status["signedTreeHead"] = None
    else:
        status["signedTreeHead"] = dict(tree_head)
    return status


def ledger_status(
    current: Mapping[str, Any] | None,
    *,
    tree_head: Mapping[str, Any] | None,
    pending: int,
    desired_workers: int,
    active_workers: int,
    worker_job: str,
    generation: int,
    now: str,
    witnessed: ConditionChange | None = None,
    published_tree_size: int | None = None,
) -> dict[str, Any]:
    """Status of a Ledger whose rows and key exist, as the pool daemon writes it.

    ``tree_head`` is the latest signed tree head's ``to_dict()`` (a checkpoint,
    or a ledger format v1 JSON head) or None before the first seal. The key
    fields (``keyId``, ``publicKey``, ``verifierKey``) are provisioning's alone:
    a round working from an older view must not write back a rotated key.
    ``witnessed`` is the Witnessed condition (`witnessed_condition`); None for a
    Ledger without witnesses, whose status then shows neither that condition
    nor ``witnesses``. ``published_tree_size`` is the size /checkpoint serves.
    """
    if pending:
        progressing = ConditionChange(
            "Progressing",
            "True",
            "Sealing",
            f"{pending} entries waiting to be sealed by {desired_workers} workers.",
        )
    else:
        progressing = ConditionChange(
            "Progressing", "False", "Idle", "Every admitted entry is sealed."
        )
    changes = [LEDGER_READY, progressing] + ([witnessed] if witnessed else [])
    conditions = updated_conditions(current, *changes, generation=generation, now=now)
    if witnessed is None:
        conditions = [c for c in conditions if c["type"] != WITNESSED]
    status: dict[str, Any] = {
        "treeSize": int(tree_head["treeSize"]) if tree_head else 0,
        "pending": pending,
        "desiredWorkers": desired_workers,
        "activeWorkers": active_workers,
        "workerJob": worker_job,
        "conditions": conditions,
        "observedGeneration": generation,
    }
    if tree_head:
        status.update(tree_head_status(tree_head))
    if published_tree_size is not None:
        status["publishedTreeSize"] = published_tree_size
    if witnessed is None and (current or {}).get("witnesses") is not None:
        status["witnesses"] = None  # removed by the merge patch
    return status


# --- Witnesses ------------------------------------------------------------------

WITNESSED = "Witnessed"
# How long a new checkpoint may wait for its cosignatures, without a witness
# reporting a problem, before Witnessed turns False (QuorumNotMet).
COSIGNING_GRACE_SECONDS = 60.0

# status.witnesses[].result of each WitnessError kind (witness_client).
WITNESS_RESULTS = {
    "unreachable": "Unreachable",
    "refused": "Refused",
    "conflict": "Conflict",
    "bad-signature": "BadSignature",
    "garbage": "Garbage",
    "ahead": "Behind",
    "": "Behind",
}
_REFUSALS = ("Refused", "Conflict", "BadSignature", "Garbage")


def _posix_rfc3339(seconds: int) -> str | None:
    try:
        return rfc3339(datetime.datetime.fromtimestamp(seconds, datetime.UTC))
    except (OverflowError, OSError, ValueError):
        return None  # a witness may put any 64-bit time in its cosignature


def witness_status_entry(
    *,
    name: str,
    tree_size: int,
    cosigned: bool,
    error: str,
    message: str,
    attempted_size: int,
    cosigned_at: int | None,
    received_at: datetime.datetime | None,
    checked_at: str,
) -> dict[str, object]:
    """One entry of ``status.witnesses``: the largest size the witness cosigned
    (``treeSize``), the time in that cosignature (``cosignedAt``) and when it was
    received, whether it holds the newest checkpoint (``result`` Cosigned) or
    why not (``result`` and ``error``), the size it was asked to cosign
    (``attemptedSize``), and when (``checkedAt``)."""
    entry: dict[str, object] = {
        "name": name,
        "treeSize": tree_size,
        "attemptedSize": attempted_size,
        "result": "Cosigned" if cosigned else WITNESS_RESULTS.get(error, "Refused"),
        "checkedAt": checked_at,
    }
    shown = _posix_rfc3339(cosigned_at) if cosigned_at is not None else None
    if shown:
        entry["cosignedAt"] = shown
    if received_at is not None:
        entry["receivedAt"] = rfc3339(received_at)
    if error and not cosigned:
        entry["error"] = f"{error}: {message}"[:1000]
    return entry


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "none"


def witnessed_condition(
    *,
    witnesses: Sequence[str],
    quorum: int,
    tree_size: int,
    published_tree_size: int | None,
    checkpoint_age_seconds: float,
    reports: Sequence[Mapping[str, Any]] | None,
) -> ConditionChange | None:
    """The Witnessed condition of a Ledger whose policy names ``witnesses`` (None
    without witnesses: no condition).

    True (QuorumMet) when the newest checkpoint, of ``tree_size``, is the one
    /checkpoint publishes (``published_tree_size``: cosigned by ``quorum`` of
    them). Otherwise False, with the reason of the first that applies: a
    witness refused it (WitnessRefused: a possible fork), one cannot be reached
    (WitnessUnreachable), or neither but the checkpoint has waited longer than
    COSIGNING_GRACE_SECONDS (QuorumNotMet); a younger one is True (Cosigning):
    its cosignatures are on the way. ``reports`` is ``status.witnesses``, the
    latest round's outcome.
    """
    if not witnesses:
        return None
    by_name = {str(r.get("name")): r for r in reports or ()}
    holding = [n for n in witnesses if int(by_name.get(n, {}).get("treeSize") or 0) >= tree_size]
    refused = [
        n for n in witnesses if n not in holding and by_name.get(n, {}).get("result") in _REFUSALS
    ]
    unreachable = [
        n
        for n in witnesses
        if n not in holding and by_name.get(n, {}).get("result") == "Unreachable"
    ]
    problems = "".join(
        f" {n}: {by_name[n].get('error') or by_name[n].get('result')}."
        for n in refused + unreachable
    )
    policy = f"the policy asks for {quorum} of {len(witnesses)}"
    if published_tree_size is not None and published_tree_size >= tree_size:
        return ConditionChange(
            WITNESSED,
            "True",
            "QuorumMet",
            f"The checkpoint of size {tree_size} is published, cosigned by {len(holding)} "
            f"({_names(holding)}); {policy}.{problems}",
        )
    served = (
        f"/checkpoint serves size {published_tree_size}"
        if published_tree_size is not None
        else "/checkpoint serves no checkpoint yet"
    )
    waiting = (
        f"The checkpoint of size {tree_size} has {len(holding)} cosignatures "
        f"({_names(holding)}); {policy}; {served}."
    )
    if refused:
        return ConditionChange(
            WITNESSED,
            "False",
            "WitnessRefused",
            f"Witness {_names(refused)} refused to cosign (a possible fork: compare what it "
            f"was shown with this ledger). {waiting}{problems}",
        )
    if unreachable:
        return ConditionChange(
            WITNESSED,
            "False",
            "WitnessUnreachable",
            f"Witness {_names(unreachable)} cannot be reached; publication waits, sealing "
            f"goes on. {waiting}{problems}",
        )
    if checkpoint_age_seconds < COSIGNING_GRACE_SECONDS:
        return ConditionChange(
            WITNESSED, "True", "Cosigning", f"Waiting for the witnesses' cosignatures. {waiting}"
        )
    waited = [n for n in witnesses if n not in holding]
    return ConditionChange(
        WITNESSED,
        "False",
        "QuorumNotMet",
        f"No cosignature from {_names(waited)} within {COSIGNING_GRACE_SECONDS:.0f} s. {waiting}",
    )


def ledger_not_ready_status(
    current: Mapping[str, Any] | None, *, reason: str, message: str, generation: int, now: str
) -> dict[str, Any]:
    """Status of a Ledger that cannot be provisioned; ``message`` says what to do."""
    conditions = updated_conditions(
        current, ConditionChange("Ready", "False", reason, message), generation=generation, now=now
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
    conditions = updated_conditions(
        current,
        ConditionChange(
            "Verified",
            "True" if verified else "False",
            "AuditPassed" if verified else "AuditFailed",
            summary,
        ),
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
