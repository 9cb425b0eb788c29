"""Injected API errors (500, 409, 429) and dropped watches: afterwards every entry
is sealed exactly once, at contiguous indexes, and the ledger passes its audit."""

from __future__ import annotations

from guestbook_operator.localsystem import LocalSystem, wait_until
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)


def test_api_errors_and_dropped_watches_lose_and_duplicate_nothing(system: LocalSystem) -> None:
    cluster = system.cluster
    assert cluster is not None  # in this process, so its fault injector is at hand
    faults = cluster.services.faults
    system.kubectl("apply", "-f", "-", input=ledger_yaml(entriesPerWorker=10))
    wait_ledger_ready(system)
    status = "guestbookentries/status"
    faults.fail_next(15, verb="patch", resource=status, code=500)
    faults.fail_next(10, verb="patch", resource=status, code=409)
    faults.fail_next(10, verb="patch", resource=status, code=429, retry_after=1)
    faults.fail_next(2, verb="create", resource="jobs", code=500)
    faults.fail_next(1, verb="patch", resource="ledgers/status", code=500)
    count = 30
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))

    def some_sealed() -> bool:
        items = get_json(system, "gbe")["items"]
        return any((i.get("status") or {}).get("phase") == "Sealed" for i in items)

    wait_until(some_sealed, timeout=120, what="the first seal")
    faults.drop_watches()
    wait_all_sealed(system, count, timeout=240)
    assert_ledger_intact(system, count)
    # The faults really happened, each one visible in the request log.
    assert faults.rules() == []  # every counted rule was used up
    injected = [r.fault for r in cluster.services.request_log.records() if r.fault]
    assert sum("error 500" in f for f in injected) == 15 + 2 + 1
    assert sum("error 409" in f for f in injected) == 10
    assert sum("error 429" in f for f in injected) == 10
    assert "drop watches" in faults.events
