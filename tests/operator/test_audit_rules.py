"""The audit's pure parts: when an audit is due, and how a resource is compared
with its stored leaf."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.entries import StoredEntry
from guestbook_operator.audit_job import compare_resource
from guestbook_operator.handlers.audit import audit_due

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC).timestamp()
REF = "default/guestbook"


def test_first_audit_is_due_at_once() -> None:
    assert audit_due(300, None, [], active=False, now=NOW)


def test_audit_waits_for_the_interval_since_the_last_one() -> None:
    assert not audit_due(300, "2026-11-25T11:58:00Z", [], active=False, now=NOW)
    assert audit_due(300, "2026-11-25T11:55:00Z", [], active=False, now=NOW)


def test_a_recent_audit_job_counts_even_without_a_result() -> None:
    # A failed audit pod writes no lastAudit; its Job still spaces the next one.
    assert not audit_due(300, None, ["2026-11-25T11:59:00Z"], active=False, now=NOW)


def test_no_audit_while_one_runs_or_when_turned_off() -> None:
    assert not audit_due(300, None, [], active=True, now=NOW)
    assert not audit_due(0, None, [], active=False, now=NOW)


def resource(message: str, leaf_index: int, leaf_hash: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "e-1", "uid": "u-1", "creationTimestamp": "2026-11-25T11:00:00Z"},
        "spec": {"ledger": "guestbook", "author": "Ada", "message": message},
        "status": {"phase": "Sealed", "leafIndex": leaf_index, "leafHash": leaf_hash},
    }


def stored(message: str, leaf_index: int = 3) -> StoredEntry:
    record = entry_record(
        ledger=REF,
        entry="e-1",
        uid="u-1",
        author="Ada",
        message=message,
        submitted_at="2026-11-25T11:00:00Z",
    )
    return StoredEntry(
        ledger=REF,
        seq=3,
        uid="u-1",
        entry_name="e-1",
        author="Ada",
        message=message,
        submitted_at="2026-11-25T11:00:00Z",
        record=record,
        state="sealed",
        leaf_hash=hashlib.sha256(b"\x00" + record).digest(),
        leaf_index=leaf_index,
        admitted_at=datetime.datetime.now(datetime.UTC),
        sealed_at=datetime.datetime.now(datetime.UTC),
    )


def test_matching_resource_has_no_findings() -> None:
    row = stored("hello")
    assert row.leaf_hash is not None
    assert compare_resource(REF, resource("hello", 3, row.leaf_hash.hex()), row) == []


def test_resource_content_not_matching_its_leaf_is_found() -> None:
    row = stored("what was signed")
    assert row.leaf_hash is not None
    findings = compare_resource(REF, resource("something else", 3, row.leaf_hash.hex()), row)
    assert len(findings) == 1 and "no longer hash to leaf 3" in findings[0]


def test_status_claims_not_matching_the_ledger_are_found() -> None:
    row = stored("hello")
    findings = compare_resource(REF, resource("hello", 4, "ab" * 32), row)
    assert any("leaf index 4" in f for f in findings)
    assert any("leaf hash" in f for f in findings)


def test_sealed_resource_unknown_to_the_ledger_is_found() -> None:
    findings = compare_resource(REF, resource("hello", 0, "ab" * 32), None)
    assert findings == ["shows Sealed, but the ledger has no sealed entry with its uid"]
