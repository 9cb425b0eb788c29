"""PostgreSQL restarted mid-batch: the operator and the worker pods wait it out, and
every entry is still sealed exactly once at contiguous indexes."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from chart_release import Release
from guestbook_localcluster import postgres
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
    wait_some_sealed,
)


def test_postgres_restart_mid_batch(release: Release) -> None:
    # A server of its own: restarting the session's shared one would disturb other tests.
    root = Path(tempfile.mkdtemp(prefix="guestbook-pg-restart-"))
    server = postgres.start_postgres(root / "pg", durable=False)
    try:
        release.dsn = server.dsn()
        release.start_operator()
        system = release
        system.kubectl(
            "apply", "-f", "-",
            input=ledger_yaml(entriesPerWorker=5, batch={"maxEntries": 5, "maxWaitSeconds": 0}),
        )  # fmt: skip
        wait_ledger_ready(system)
        count = 40
        system.kubectl("apply", "-f", "-", input=entries_yaml(count))
        wait_some_sealed(system)
        server.restart()
        log = (server.data_dir / "server.log").read_text(errors="replace")
        assert "database system is shut down" in log, "the server really restarted"
        wait_all_sealed(system, count, timeout=240)
        assert_ledger_intact(system, count)
    finally:
        release.close()  # before its database goes
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
