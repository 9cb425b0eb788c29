"""kube-apiserver or etcd killed (SIGKILL) while entries are being sealed, then
started again: the operator's watches break and its calls and the workers'
status writes fail until the control plane is back. Afterwards every entry is
sealed exactly once, at contiguous indexes, every tree head consistent with the
next, and the ledger passes its audit."""

from __future__ import annotations

import pytest
from chart_release import Release
from guestbook_localcluster.controlplane import ControlPlane
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    ledger_yaml,
    outage,
    wait_all_sealed,
    wait_ledger_ready,
    wait_some_sealed,
)


@pytest.mark.parametrize("component", ["kube-apiserver", "etcd"])
def test_control_plane_killed_mid_sealing_loses_and_duplicates_nothing(
    system: Release, control_plane: ControlPlane, component: str
) -> None:
    # Small batches and several workers, so that the fault meets work in flight.
    system.kubectl(
        "apply", "-f", "-",
        input=ledger_yaml(
            entriesPerWorker=10, maxWorkers=3, batch={"maxEntries": 5, "maxWaitSeconds": 0}
        ),
    )  # fmt: skip
    wait_ledger_ready(system)
    count = 60
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))
    wait_some_sealed(system)
    before = control_plane.processes[component].popen
    with outage(control_plane, component):
        assert before is not None and before.wait(30) == -9  # SIGKILL: no shutdown ran
    wait_all_sealed(system, count, timeout=240)
    assert_ledger_intact(system, count)
