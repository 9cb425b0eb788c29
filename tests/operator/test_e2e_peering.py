"""Two operator replicas with Kopf peering: one acts, the other takes over when it dies."""

from __future__ import annotations

from pathlib import Path

from guestbook_operator.localsystem import LocalSystem, wait_until
from operator_e2e import entries_yaml, get_json, wait_all_sealed, wait_ledger_ready

RESUMED = "Resuming operations after the pause"
REPO = Path(__file__).resolve().parents[2]


def test_two_replicas_one_active_then_failover(system: LocalSystem) -> None:
    system.stop_operator()  # the fixture's standalone operator
    active = system.start_operator("--peering", "guestbook", "--priority", "100")
    log = system.operator_log
    assert log is not None
    wait_until(lambda: RESUMED in log.read_text(), timeout=90, what="the first replica to run")
    standby = system.start_operator("--peering", "guestbook", "--priority", "50")
    wait_until(
        lambda: len(get_json(system, "clusterkopfpeering", "guestbook").get("status") or {}) == 2,
        timeout=90,
        what="both replicas in the peering",
    )
    system.kubectl("apply", "-f", str(REPO / "examples" / "ledger.yaml"))
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(5, prefix="first"))
    wait_all_sealed(system, 5)
    # The standby stays paused while the higher-priority replica lives.
    assert log.read_text().count(RESUMED) == 1

    system.kill_operator(active)
    system.kubectl("apply", "-f", "-", input=entries_yaml(5, prefix="second"))
    wait_all_sealed(system, 10, timeout=180)
    assert standby.poll() is None
    assert log.read_text().count(RESUMED) == 2
