"""A pending entry deleted before it is sealed is withdrawn: it never becomes a leaf.

The entries stay Pending for as long as the test needs because a ResourceQuota
lets no worker pod start, as on a cluster out of quota; lifting it lets the
Job controller create the worker."""

from __future__ import annotations

import json

from chart_release import Release, wait_until
from guestbook_ledger.store.schema import connect
from operator_e2e import entries_yaml, get_json, ledger_yaml, wait_ledger_ready

# Room for the operator's pod only.
QUOTA = {
    "apiVersion": "v1",
    "kind": "ResourceQuota",
    "metadata": {"name": "operator-pod-only"},
    "spec": {"hard": {"pods": "1"}},
}


def states(dsn: str) -> dict[str, tuple[str, int | None]]:
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT entry_name, state, leaf_index FROM entries")
            return {name: (state, index) for name, state, index in cur.fetchall()}
    finally:
        conn.close()


def quota_refusals(system: Release) -> list[str]:
    events = get_json(system, "events", "--field-selector", "reason=FailedCreate")["items"]
    return [e["message"] for e in events if "exceeded quota" in e["message"]]


def test_deleting_a_pending_entry_withdraws_it(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=json.dumps(QUOTA))
    system.kubectl(
        "wait", "--for=jsonpath={.status.used.pods}=1", "resourcequota/operator-pod-only",
        "--timeout=60s",
    )  # fmt: skip
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(3))
    wait_until(
        lambda: len(states(system.dsn)) == 3,
        timeout=60,
        interval=0.05,
        what="the entries to be admitted",
    )
    wait_until(lambda: quota_refusals(system), timeout=60, what="the worker pod refused")
    assert get_json(system, "gbe", "entry-1")["status"]["phase"] == "Pending"
    system.kubectl("delete", "gbe", "entry-1")
    wait_until(
        lambda: states(system.dsn)["entry-1"][0] == "withdrawn",
        timeout=30,
        interval=0.05,
        what="the withdrawal",
    )

    system.kubectl("delete", "resourcequota", "operator-pod-only")
    final = wait_until(
        lambda: (
            (found := states(system.dsn))["entry-0"][0] == "sealed"
            and found["entry-2"][0] == "sealed"
            and found
        ),
        timeout=180,
        what="the other entries to be sealed",
    )
    assert final["entry-1"] == ("withdrawn", None)
    assert sorted(index for _, index in final.values() if index is not None) == [0, 1]
