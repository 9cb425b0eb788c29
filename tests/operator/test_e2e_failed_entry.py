"""An entry the ledger format cannot hold ends Failed, with a condition that
says why, and is never retried, while the entries around it are sealed.
(That a refused entry does not fail the rest of its admission batch is
tests/operator/test_admission_batcher.py's.)"""

from __future__ import annotations

import json

from chart_release import Release, wait_until
from operator_e2e import entries_yaml, get_json, ledger_yaml, wait_all_sealed, wait_ledger_ready


def _entry(name: str, message: str) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"author": "Mallory", "message": message},
        }
    )


def _phase(system: Release, name: str) -> str | None:
    phase: str | None = (get_json(system, "gbe", name).get("status") or {}).get("phase")
    return phase


def test_an_entry_postgresql_cannot_store_fails_with_a_reason(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    # The API accepts a NUL character in a string; PostgreSQL text cannot hold it.
    system.kubectl("apply", "-f", "-", input=_entry("bad", "a \u0000 in the middle"))
    system.kubectl("apply", "-f", "-", input=entries_yaml(3))
    wait_until(lambda: _phase(system, "bad") == "Failed", timeout=60, interval=0.2, what="Failed")
    wait_all_sealed(system, 3)
    bad = get_json(system, "gbe", "bad")
    conditions = {c["type"]: c for c in bad["status"]["conditions"]}
    assert conditions["Admitted"]["status"] == "False"
    assert conditions["Admitted"]["reason"] == "InvalidEntry"
    assert "message contains a NUL character" in conditions["Admitted"]["message"]
    assert conditions["Sealed"]["status"] == "False"
    assert conditions["Sealed"]["reason"] == "InvalidEntry"
    assert "leafIndex" not in bad["status"]
    events = get_json(system, "events", "--field-selector", "involvedObject.name=bad")["items"]
    assert any(e["type"] == "Warning" and e["reason"] == "InvalidEntry" for e in events)

    # Final: an operator restart (which re-admits every unfinished entry) and
    # repair passes leave it alone, while new entries are still sealed.
    version = bad["metadata"]["resourceVersion"]
    system.stop_operator()
    system.start_operator()
    system.kubectl("apply", "-f", "-", input=entries_yaml(2, prefix="later"))
    wait_all_sealed(system, 5)
    assert get_json(system, "gbe", "bad")["metadata"]["resourceVersion"] == version
