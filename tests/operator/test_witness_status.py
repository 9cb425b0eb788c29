"""The witnesses in a Ledger's status (pure): each witness's entry, the Witnessed
condition and its reasons, one event per refusal, when the operator asks
witnesses again, and a Ledger without witnesses shows neither."""

from __future__ import annotations

import datetime
from typing import Any

from guestbook_operator.handlers.witnesses import witnesses_behind
from guestbook_operator.status import (
    COSIGNING_GRACE_SECONDS,
    ledger_status,
    witness_status_entry,
    witnessed_condition,
)
from guestbook_operator.witnessing import WitnessOutcome, refusals_to_report

NOW = "2026-12-06T23:00:00Z"
RECEIVED = datetime.datetime(2026, 12, 6, 22, 59, 58, tzinfo=datetime.UTC)


def entry(name: str, size: int, result: str, error: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "treeSize": size, "result": result}
    if error:
        found["error"] = error
    return found


def test_an_entry_shows_the_cosignature_time_and_why_not() -> None:
    cosigned = witness_status_entry(
        name="w1",
        tree_size=7,
        cosigned=True,
        error="",
        message="",
        attempted_size=7,
        cosigned_at=1_765_062_000,
        received_at=RECEIVED,
        checked_at=NOW,
    )
    assert cosigned == {
        "name": "w1",
        "treeSize": 7,
        "attemptedSize": 7,
        "result": "Cosigned",
        "checkedAt": NOW,
        "cosignedAt": "2025-12-06T23:00:00Z",
        "receivedAt": "2026-12-06T22:59:58Z",
    }
    refused = witness_status_entry(
        name="w1",
        tree_size=7,
        cosigned=False,
        error="conflict",
        message="witness w1 holds size 9",
        attempted_size=8,
        cosigned_at=2**63 - 1,  # a witness may write any time; it is not shown then
        received_at=RECEIVED,
        checked_at=NOW,
    )
    assert refused["result"] == "Conflict"
    assert refused["error"] == "conflict: witness w1 holds size 9"
    assert "cosignedAt" not in refused


def witnessed(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "witnesses": ["w1", "w2"],
        "quorum": 1,
        "tree_size": 8,
        "published_tree_size": 5,
        "checkpoint_age_seconds": 0.0,
        "reports": [entry("w1", 5, "Behind"), entry("w2", 5, "Behind")],
    }
    arguments.update(overrides)
    return witnessed_condition(**arguments)


def test_no_witnesses_no_condition() -> None:
    assert witnessed(witnesses=[], quorum=0) is None


def test_the_newest_checkpoint_published_is_quorum_met_and_names_the_cosigners() -> None:
    found = witnessed(
        published_tree_size=8,
        reports=[entry("w1", 8, "Cosigned"), entry("w2", 5, "Unreachable", "unreachable: down")],
    )
    assert (found.status, found.reason) == ("True", "QuorumMet")
    assert "cosigned by 1 (w1)" in found.message
    assert "w2: unreachable: down." in found.message  # a problem beside the quorum is shown


def test_a_refusal_comes_before_an_unreachable_witness() -> None:
    found = witnessed(
        reports=[
            entry("w1", 5, "Unreachable", "unreachable: connection refused"),
            entry("w2", 5, "Conflict", "conflict: holds size 9"),
        ]
    )
    assert (found.status, found.reason) == ("False", "WitnessRefused")
    assert found.message.startswith("Witness w2 refused to cosign (a possible fork")
    assert "/checkpoint serves size 5" in found.message
    assert "connection refused" in found.message


def test_an_unreachable_witness_delays_publication() -> None:
    found = witnessed(
        published_tree_size=None,
        reports=[entry("w1", 0, "Unreachable", "unreachable: timed out")],
    )
    assert (found.status, found.reason) == ("False", "WitnessUnreachable")
    assert "Witness w1 cannot be reached" in found.message
    assert "/checkpoint serves no checkpoint yet" in found.message


def test_a_new_checkpoint_is_cosigning_then_quorum_not_met() -> None:
    young = witnessed(checkpoint_age_seconds=COSIGNING_GRACE_SECONDS / 2)
    assert (young.status, young.reason) == ("True", "Cosigning")
    old = witnessed(checkpoint_age_seconds=COSIGNING_GRACE_SECONDS + 1, reports=None)
    assert (old.status, old.reason) == ("False", "QuorumNotMet")
    assert "No cosignature from w1, w2" in old.message


def outcome(name: str, error: str, size: int = 8) -> WitnessOutcome:
    return WitnessOutcome(name, 5, cosigned=False, error=error, message="m", attempted_size=size)


def test_a_refusal_is_reported_once_per_checkpoint() -> None:
    outcomes = [outcome("w1", "refused"), outcome("w2", "unreachable"), outcome("w3", "garbage")]
    assert [o.name for o in refusals_to_report(outcomes, None)] == ["w1", "w3"]
    previous = [o.status(NOW) for o in outcomes]
    assert refusals_to_report(outcomes, previous) == []
    # A new checkpoint refused, or another kind of refusal: reported again.
    again = [outcome("w1", "refused", size=9), outcome("w3", "bad-signature")]
    assert [o.name for o in refusals_to_report(again, previous)] == ["w1", "w3"]


def ledger(status: dict[str, Any], witnesses: list[str]) -> dict[str, Any]:
    spec = {"witnesses": [{"name": n} for n in witnesses]}
    return {"spec": spec, "status": {"keyId": "k", "treeSize": 8, **status}}


def test_the_operator_asks_again_only_witnesses_behind() -> None:
    assert not witnesses_behind(ledger({}, []))
    assert witnesses_behind(ledger({}, ["w1"]))  # never reported
    assert witnesses_behind(ledger({"witnesses": [entry("w1", 5, "Unreachable")]}, ["w1"]))
    assert not witnesses_behind(ledger({"witnesses": [entry("w1", 8, "Cosigned")]}, ["w1"]))
    assert not witnesses_behind({"spec": {"witnesses": [{"name": "w1"}]}, "status": {}})


def test_a_ledger_without_witnesses_drops_the_condition_and_the_list() -> None:
    current = {
        "conditions": [
            {
                "type": "Witnessed",
                "status": "True",
                "reason": "QuorumMet",
                "message": "",
                "lastTransitionTime": NOW,
                "observedGeneration": 1,
            }
        ],
        "witnesses": [entry("w1", 8, "Cosigned")],
    }
    arguments: dict[str, Any] = {
        "tree_head": None,
        "pending": 0,
        "desired_workers": 0,
        "active_workers": 0,
        "worker_job": "",
        "generation": 2,
        "now": NOW,
    }
    status = ledger_status(current, **arguments)
    assert "Witnessed" not in {c["type"] for c in status["conditions"]}
    assert status["witnesses"] is None  # removed by the merge patch
    kept = ledger_status(current, **arguments, witnessed=witnessed(), published_tree_size=5)
    assert {c["type"] for c in kept["conditions"]} >= {"Ready", "Progressing", "Witnessed"}
    assert kept["publishedTreeSize"] == 5 and "witnesses" not in kept
