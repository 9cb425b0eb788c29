"""A pending entry deleted before it is sealed is withdrawn: it never becomes a leaf."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_ledger.store.schema import connect
from guestbook_operator.localsystem import LocalSystem, start_local_system, wait_until
from operator_e2e import OPERATOR_ENV, entries_yaml, get_json, ledger_yaml, wait_ledger_ready


@pytest.fixture
def slow_pods(ledger_dsn: str) -> Iterator[LocalSystem]:
    """The system with an 8 s pod start delay: entries stay Pending for a while."""
    state = Path(tempfile.mkdtemp(prefix="guestbook-e2e-slow-"))
    local = start_local_system(state, ledger_dsn, pod_start_delay=8.0, operator_env=OPERATOR_ENV)
    try:
        local.start_operator()
        yield local
    finally:
        local.stop()
        shutil.rmtree(state, ignore_errors=True)


def states(dsn: str) -> dict[str, tuple[str, int | None]]:
    conn = connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT entry_name, state, leaf_index FROM entries")
            return {name: (state, index) for name, state, index in cur.fetchall()}
    finally:
        conn.close()


def test_deleting_a_pending_entry_withdraws_it(slow_pods: LocalSystem) -> None:
    system = slow_pods
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(3))
    wait_until(
        lambda: len(states(system.dsn)) == 3,
        timeout=60,
        interval=0.05,
        what="the entries to be admitted",
    )
    assert get_json(system, "gbe", "entry-1")["status"]["phase"] == "Pending"
    system.kubectl("delete", "gbe", "entry-1")
    wait_until(
        lambda: states(system.dsn)["entry-1"][0] == "withdrawn",
        timeout=30,
        interval=0.05,
        what="the withdrawal",
    )
    final = wait_until(
        lambda: (
            (found := states(system.dsn))["entry-0"][0] == "sealed"
            and found["entry-2"][0] == "sealed"
            and found
        ),
        timeout=120,
        what="the other entries to be sealed",
    )
    assert final["entry-1"] == ("withdrawn", None)
    assert sorted(index for _, index in final.values() if index is not None) == [0, 1]
