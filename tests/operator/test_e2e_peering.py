"""Two operator replicas (the chart's `operator.replicas: 2`) with Kopf peering: one
acts, the other stands by, and the ledger goes on when the active one is killed."""

from __future__ import annotations

from pathlib import Path

from chart_release import RELEASE, Release, wait_until
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    wait_all_sealed,
    wait_ledger_ready,
)

RESUMED = "Resuming operations after the pause"
PAUSED = "Pausing "  # "... operations in favour of ...", "... all operators, ..."
REPO = Path(__file__).resolve().parents[2]


def active_replicas(system: Release) -> list[str]:
    """Operator pods whose current process acts: it resumed and did not pause since."""
    active = []
    for pod in system.operator_pods(running=True):
        log = system.operator_log(pod["metadata"]["name"])
        if log.rfind(RESUMED) > log.rfind(PAUSED):
            active.append(pod["metadata"]["name"])
    return active


def one_active(system: Release) -> list[str]:
    return wait_until(
        lambda: found if len(found := active_replicas(system)) == 1 else None,
        timeout=90,
        what="exactly one active replica",
    )


def test_two_replicas_one_active_then_failover(system: Release) -> None:
    system.start_operator(replicas=2)
    wait_until(
        lambda: len(get_json(system, "kopfpeering", RELEASE).get("status") or {}) == 2,
        timeout=90,
        what="both replicas in the peering",
    )
    [active] = one_active(system)
    system.kubectl("apply", "-f", str(REPO / "examples" / "ledger.yaml"))
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(5, prefix="first"))
    wait_all_sealed(system, 5)
    # The standby stays paused while the active replica lives.
    assert active_replicas(system) == [active]

    system.kill_operator(active)
    system.kubectl("apply", "-f", "-", input=entries_yaml(5, prefix="second"))
    wait_all_sealed(system, 10, timeout=180)
    assert_ledger_intact(system, 10)
    assert system.restarts(active) == 1
    # One replica acts again: the standby, or the restarted one if it drew the higher
    # priority (each process draws its own).
    one_active(system)
