"""Status and conditions of GuestbookEntry and Ledger resources."""

from __future__ import annotations

import datetime

import pytest
from guestbook_operator.status import (
    DATABASE_UNAVAILABLE,
    admitted_entry_status,
    audit_status,
    blocked_by_provisioning,
    failed_entry_status,
    find_condition,
    ledger_not_ready_status,
    ledger_status,
    rfc3339,
    sealed_entry_status,
    set_condition,
    waiting_for_ledger_status,
)

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:01:00Z"
HASH = "ab" * 32


def test_new_condition_gets_all_convention_fields() -> None:
    [condition] = set_condition(
        None, type="Ready", status="True", reason="Ok", message="fine", generation=3, now=T0
    )
    assert condition == {
        "type": "Ready",
        "status": "True",
        "reason": "Ok",
        "message": "fine",
        "lastTransitionTime": T0,
        "observedGeneration": 3,
    }


def test_unchanged_status_keeps_transition_time_but_updates_message() -> None:
    first = set_condition(
        None, type="Ready", status="True", reason="Ok", message="a", generation=1, now=T0
    )
    second = set_condition(
        first, type="Ready", status="True", reason="Ok", message="b", generation=2, now=T1
    )
    assert second[0]["lastTransitionTime"] == T0
    assert second[0]["message"] == "b"
    assert second[0]["observedGeneration"] == 2


def test_changed_status_moves_transition_time() -> None:
    first = set_condition(
        None, type="Ready", status="False", reason="No", message="a", generation=1, now=T0
    )
    second = set_condition(
        first, type="Ready", status="True", reason="Ok", message="b", generation=1, now=T1
    )
    assert second[0]["lastTransitionTime"] == T1


def test_other_conditions_are_kept_in_order() -> None:
    conditions = set_condition(
        None, type="A", status="True", reason="R", message="", generation=1, now=T0
    )
    conditions = set_condition(
        conditions, type="B", status="True", reason="R", message="", generation=1, now=T0
    )
    conditions = set_condition(
        conditions, type="A", status="False", reason="R", message="", generation=1, now=T1
    )
    assert [c["type"] for c in conditions] == ["A", "B"]
    assert find_condition(conditions, "A") is not None
    assert find_condition(conditions, "C") is None


def test_input_is_not_modified() -> None:
    original = [
        {
            "type": "A",
            "status": "True",
            "reason": "R",
            "message": "m",
            "lastTransitionTime": T0,
            "observedGeneration": 1,
        }
    ]
    snapshot = [dict(c) for c in original]
    set_condition(original, type="A", status="False", reason="X", message="", generation=2, now=T1)
    assert original == snapshot


def test_rfc3339_is_utc_seconds() -> None:
    moment = datetime.datetime(
        2026, 3, 4, 5, 6, 7, 890, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert rfc3339(moment) == "2026-03-04T03:06:07Z"
    with pytest.raises(ValueError, match="timezone"):
        rfc3339(datetime.datetime(2026, 1, 1))


def test_entry_waiting_for_missing_ledger_says_so() -> None:
    status = waiting_for_ledger_status(None, namespace="ns", ledger="book", generation=1, now=T0)
    assert status["phase"] == "Pending"
    admitted = find_condition(status["conditions"], "Admitted")
    assert admitted is not None
    assert admitted["status"] == "False"
    assert admitted["reason"] == "LedgerNotFound"
    assert '"book"' in admitted["message"] and '"ns"' in admitted["message"]


def test_entry_waiting_for_a_ledger_being_provisioned_says_so() -> None:
    status = waiting_for_ledger_status(
        None, namespace="ns", ledger="book", generation=1, now=T0, exists=True
    )
    assert status["phase"] == "Pending"
    admitted = find_condition(status["conditions"], "Admitted")
    assert admitted is not None and admitted["status"] == "False"
    assert admitted["reason"] == "LedgerNotReady"
    assert "not ready" in admitted["message"] and "does not exist" not in admitted["message"]


def test_entry_admitted_after_ledger_appears() -> None:
    waiting = waiting_for_ledger_status(None, namespace="ns", ledger="book", generation=1, now=T0)
    status = admitted_entry_status(waiting, namespace="ns", ledger="book", generation=1, now=T1)
    admitted = find_condition(status["conditions"], "Admitted")
    assert admitted is not None and admitted["status"] == "True"
    assert admitted["lastTransitionTime"] == T1
    sealed = find_condition(status["conditions"], "Sealed")
    assert sealed is not None and sealed["status"] == "False"


def test_sealed_entry_status_has_every_result_field() -> None:
    admitted = admitted_entry_status(None, namespace="ns", ledger="book", generation=1, now=T0)
    status = sealed_entry_status(
        admitted,
        leaf_index=4,
        leaf_hash=HASH,
        tree_size=5,
        root_hash=HASH,
        sealed_at=T1,
        generation=1,
        now=T1,
    )
    assert status["phase"] == "Sealed"
    assert (status["leafIndex"], status["treeSize"]) == (4, 5)
    assert status["leafHash"] == status["rootHash"] == HASH
    assert status["sealedAt"] == T1
    admitted_condition = find_condition(status["conditions"], "Admitted")
    assert admitted_condition is not None and admitted_condition["lastTransitionTime"] == T0
    sealed = find_condition(status["conditions"], "Sealed")
    assert sealed is not None and sealed["status"] == "True" and sealed["lastTransitionTime"] == T1


def test_sealed_entry_status_rejects_index_outside_tree() -> None:
    with pytest.raises(ValueError, match="leaf_index < tree_size"):
        sealed_entry_status(
            None,
            leaf_index=5,
            leaf_hash=HASH,
            tree_size=5,
            root_hash=HASH,
            sealed_at=T0,
            generation=1,
            now=T0,
        )


def test_failed_entry_says_why_on_both_conditions() -> None:
    admitted = admitted_entry_status(None, namespace="ns", ledger="book", generation=1, now=T0)
    status = failed_entry_status(
        admitted,
        reason="InvalidEntry",
        message="The entry cannot be recorded: x.",
        generation=1,
        now=T1,
    )
    assert status["phase"] == "Failed"
    failed = find_condition(status["conditions"], "Admitted")
    assert failed is not None and failed["status"] == "False"
    assert (failed["reason"], failed["message"]) == (
        "InvalidEntry",
        "The entry cannot be recorded: x.",
    )
    assert failed["lastTransitionTime"] == T1
    sealed = find_condition(status["conditions"], "Sealed")
    assert sealed is not None and sealed["status"] == "False" and sealed["reason"] == "InvalidEntry"
    # Sealed was already False: no transition.
    assert sealed["lastTransitionTime"] == T0
    assert "waiting" not in sealed["message"] and "Not yet" not in sealed["message"]


def test_ledger_status_reports_tree_head_and_pool() -> None:
    head = {"treeSize": 7, "rootHash": HASH, "timestamp": T0, "keyId": HASH, "signature": "c2ln"}
    status = ledger_status(
        None,
        tree_head=head,
        pending=12,
        desired_workers=2,
        active_workers=1,
        worker_job="book-worker-x",
        generation=1,
        now=T0,
    )
    assert (status["treeSize"], status["rootHash"], status["pending"]) == (7, HASH, 12)
    assert status["signedTreeHead"] == head
    assert (status["desiredWorkers"], status["activeWorkers"]) == (2, 1)
    # The key is provisioning's: a pool round never writes back an older one.
    assert not {"keyId", "publicKey", "verifierKey"} & set(status)
    progressing = find_condition(status["conditions"], "Progressing")
    assert progressing is not None and progressing["status"] == "True"
    ready = find_condition(status["conditions"], "Ready")
    assert ready is not None and ready["status"] == "True"


def test_a_checkpoint_head_shows_the_note_and_removes_an_older_json_head() -> None:
    note = "origin.example\n7\nAAAA\n\n\u2014 origin.example c2ln\n"
    head = {"format": "checkpoint", "treeSize": 7, "rootHash": HASH, "checkpoint": note}
    status = ledger_status(
        {"signedTreeHead": {"treeSize": 6}},
        tree_head=head,
        pending=0,
        desired_workers=0,
        active_workers=0,
        worker_job="",
        generation=1,
        now=T0,
    )
    assert (status["treeSize"], status["rootHash"], status["checkpoint"]) == (7, HASH, note)
    assert status["signedTreeHead"] is None  # a merge patch removes the JSON head


def test_empty_ledger_status_is_idle_and_has_no_root() -> None:
    status = ledger_status(
        None,
        tree_head=None,
        pending=0,
        desired_workers=0,
        active_workers=0,
        worker_job="",
        generation=1,
        now=T0,
    )
    assert status["treeSize"] == 0
    assert "rootHash" not in status
    progressing = find_condition(status["conditions"], "Progressing")
    assert progressing is not None and progressing["status"] == "False"


def test_failed_audit_names_mismatches_and_sets_verified_false() -> None:
    problems = [f"entry default/e{i}: leaf hash differs" for i in range(7)]
    status = audit_status(
        None,
        verified=False,
        tree_size=9,
        problems=problems,
        job="book-audit-1",
        finished_at=T1,
        generation=1,
        now=T1,
    )
    assert status["lastAudit"]["mismatches"] == 7
    assert status["lastAudit"]["verified"] is False
    verified = find_condition(status["conditions"], "Verified")
    assert verified is not None
    assert verified["status"] == "False" and verified["reason"] == "AuditFailed"
    assert "default/e0" in verified["message"] and "2 more" in verified["message"]


def test_passed_audit_sets_verified_true() -> None:
    status = audit_status(
        None, verified=True, tree_size=9, problems=[], job="j", finished_at=T1, generation=1, now=T1
    )
    verified = find_condition(status["conditions"], "Verified")
    assert verified is not None and verified["status"] == "True"


def test_workers_wait_while_provisioning_is_blocked_but_not_for_a_database_outage() -> None:
    def not_ready(reason: str) -> dict[str, object]:
        return ledger_not_ready_status(None, reason=reason, message="m", generation=1, now=T0)

    assert blocked_by_provisioning(not_ready("SecretNotOwned"))
    assert blocked_by_provisioning(not_ready("WorkerServiceAccountMissing"))
    assert not blocked_by_provisioning(not_ready(DATABASE_UNAVAILABLE))
    assert not blocked_by_provisioning(None)
    ready = ledger_status(
        not_ready("SigningKeyLost"),
        tree_head=None,
        pending=0,
        desired_workers=0,
        active_workers=0,
        worker_job="",
        generation=1,
        now=T1,
    )
    assert not blocked_by_provisioning(ready)
