"""Faults and repair, end to end: the operator pod or a worker pod killed, a status
lost, retention, tampering. Whatever happens, every entry is sealed exactly once,
leaf indexes stay contiguous and the ledger passes its audit."""

from __future__ import annotations

import json

import psycopg2
from chart_release import Release, wait_until
from guestbook_ledger.store.schema import connect
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)


def test_operator_killed_mid_batch_loses_nothing(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml(entriesPerWorker=10, maxWorkers=3))
    wait_ledger_ready(system)
    count = 60
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))

    def some_progress() -> bool:
        items = get_json(system, "gbe")["items"]
        return any((i.get("status") or {}).get("phase") for i in items)

    wait_until(some_progress, timeout=60, interval=0.05, what="admission to begin")
    [pod] = system.kill_operator()
    # The kubelet starts the pod's operator again (restartPolicy Always); it takes over.
    wait_until(lambda: system.restarts(pod), timeout=60, what=f"{pod} restarted")
    wait_all_sealed(system, count)
    assert_ledger_intact(system, count)


def test_worker_pod_killed_mid_work_is_replaced(system: Release) -> None:
    # Small batches so the worker is busy for a while.
    system.kubectl(
        "apply", "-f", "-",
        input=ledger_yaml(maxWorkers=1, batch={"maxEntries": 5, "maxWaitSeconds": 0}),
    )  # fmt: skip
    wait_ledger_ready(system)
    count = 40
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))

    def running_worker() -> str | None:
        for pod in system.pods("worker"):
            if pod["status"].get("phase") == "Running":
                return str(pod["metadata"]["name"])
        return None

    pod = wait_until(running_worker, timeout=90, interval=0.05, what="a running worker pod")
    assert system.kubelet.kill_pod_process(system.namespace, pod)
    wait_all_sealed(system, count)
    assert_ledger_intact(system, count)
    # The pod failed (restartPolicy Never) and the Job controller made another.
    failed = get_json(system, "pod", pod)["status"]
    assert failed["phase"] == "Failed", failed


def test_lost_status_is_repaired_from_the_database(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(3))
    sealed = {e["metadata"]["name"]: e["status"] for e in wait_all_sealed(system, 3)}
    # As if the worker's status write had been lost.
    system.kubectl(
        "patch", "gbe", "entry-1", "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"phase": "Pending", "leafHash": None, "leafIndex": None}}),
    )  # fmt: skip
    assert get_json(system, "gbe", "entry-1")["status"]["phase"] == "Pending"
    repaired = wait_until(
        lambda: (s := get_json(system, "gbe", "entry-1")["status"]).get("phase") == "Sealed" and s,
        timeout=60,
        what="the repair loop to restore the status",
    )
    for field in ("leafIndex", "leafHash", "treeSize", "rootHash"):
        assert repaired[field] == sealed["entry-1"][field]


def test_retention_deletes_sealed_resources_but_the_ledger_keeps_them(
    system: Release,
) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml(retention={"sealedEntrySeconds": 1}))
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(4))
    wait_until(
        lambda: not get_json(system, "gbe")["items"],
        timeout=90,
        what="sealed entry resources to be retired",
    )
    conn = connect(system.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM entries WHERE state = 'sealed'")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None and row[0] == 4
    assert get_json(system, "ledger", "guestbook")["status"]["treeSize"] == 4


def test_tampering_is_reported_by_name_and_sets_verified_false(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml(auditIntervalSeconds=3))
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(5))
    wait_all_sealed(system, 5)
    # Behind the database's back: superuser, append-only triggers disabled.
    conn = psycopg2.connect(system.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("ALTER TABLE entries DISABLE TRIGGER entries_append_only")
            cur.execute(
                "UPDATE entries SET message = 'I never wrote this' WHERE entry_name = 'entry-3'"
            )
            cur.execute("ALTER TABLE entries ENABLE TRIGGER entries_append_only")
    finally:
        conn.close()

    def verified_false() -> dict[str, str] | None:
        status = get_json(system, "ledger", "guestbook")["status"]
        for condition in status.get("conditions", []):
            if condition["type"] == "Verified" and condition["status"] == "False":
                return condition  # type: ignore[no-any-return]
        return None

    condition = wait_until(verified_false, timeout=120, what="the audit to find the tampering")
    assert "entry-3" in condition["message"]
    status = get_json(system, "ledger", "guestbook")["status"]
    assert status["lastAudit"]["verified"] is False
    assert status["lastAudit"]["mismatches"] >= 1
    events = get_json(system, "events", "--field-selector", "reason=AuditMismatch")["items"]
    assert any(e["type"] == "Warning" and "entry-3" in e["message"] for e in events)
    assert not any("entry-2" in e["message"] for e in events)
