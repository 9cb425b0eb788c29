"""PostgreSQL restarted mid-batch: the operator and the workers wait it out, and
every entry is still sealed exactly once at contiguous indexes."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from guestbook_ledger.store import embedded
from guestbook_operator.localsystem import start_local_system, wait_until
from operator_e2e import (
    OPERATOR_ENV,
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)


def test_postgres_restart_mid_batch() -> None:
    # A server of its own: restarting the session's shared one would disturb other tests.
    root = Path(tempfile.mkdtemp(prefix="guestbook-pg-restart-"))
    server = embedded.start_postgres(root / "pg", durable=False)
    system = start_local_system(root / "state", server.dsn(), operator_env=OPERATOR_ENV)
    try:
        system.start_operator()
        system.kubectl(
            "apply", "-f", "-",
            input=ledger_yaml(entriesPerWorker=5, batch={"maxEntries": 5, "maxWaitSeconds": 0}),
        )  # fmt: skip
        wait_ledger_ready(system)
        count = 40
        system.kubectl("apply", "-f", "-", input=entries_yaml(count))

        def some_sealed() -> bool:
            items = get_json(system, "gbe")["items"]
            return any((i.get("status") or {}).get("phase") == "Sealed" for i in items)

        wait_until(some_sealed, timeout=120, interval=0.05, what="the first seal")
        server.restart()
        log = (server.data_dir / "server.log").read_text(errors="replace")
        assert "database system is shut down" in log, "the server really restarted"
        wait_all_sealed(system, count, timeout=240)
        assert_ledger_intact(system, count)
    finally:
        system.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
