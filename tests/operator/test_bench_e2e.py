"""`guestbook-ledger bench e2e`: how it creates entries (the async REST client,
bounded in flight, paced by the clock, bounded in time) and how it accounts
for the CPU of each component process. The run itself is the benchmark."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_operator.bench_e2e import (
    COMPONENTS,
    Api,
    CreationTimedOut,
    Scenario,
    burst_cpu_table,
    create_entries,
)
from guestbook_operator.localsystem import LocalSystem, start_local_system
from guestbook_operator.process_cpu import all_processes, parse_stat, tree_ticks


@pytest.fixture
def api_only(ledger_dsn: str) -> Iterator[LocalSystem]:
    """The local API server with the CRDs, no operator (entries stay as created)."""
    state = Path(tempfile.mkdtemp(prefix="guestbook-bench-e2e-test-"))
    local = start_local_system(state, ledger_dsn)
    try:
        yield local
    finally:
        local.stop()
        shutil.rmtree(state, ignore_errors=True)


def test_a_burst_creates_every_entry_and_records_when_each_was_sent(
    api_only: LocalSystem,
) -> None:
    api = Api(api_only.kubeconfig)
    names = [f"burst-{i}" for i in range(40)]

    submitted = create_entries(api.client, names, "bench", in_flight=4)

    assert sorted(submitted) == sorted(names)
    entry = api.get("guestbookentries", "burst-7")
    assert entry["spec"] == {
        "ledger": "bench",
        "author": "bench",
        "message": "benchmark entry burst-7",
    }
    assert entry["metadata"]["creationTimestamp"]


def test_a_steady_rate_sends_in_order_and_never_faster_than_the_rate(
    api_only: LocalSystem,
) -> None:
    api = Api(api_only.kubeconfig)
    names = [f"steady-{i}" for i in range(10)]

    submitted = create_entries(api.client, names, "bench", rate=50.0, in_flight=4)

    times = [submitted[n] for n in names]
    assert times == sorted(times)
    # Creation i is scheduled i / rate after the first, by the clock.
    assert times[-1] - times[0] >= 9 / 50.0 - 0.001


def test_creation_stops_at_its_time_bound_and_says_how_far_it_got(
    api_only: LocalSystem,
) -> None:
    api = Api(api_only.kubeconfig)
    names = [f"slow-{i}" for i in range(5)]

    # One per second: only the first is due within the bound.
    with pytest.raises(CreationTimedOut) as raised:
        create_entries(api.client, names, "bench", rate=1.0, timeout=0.5)

    assert set(raised.value.created) <= {"slow-0"}
    assert "of 5 entries" in str(raised.value)


def test_a_stat_line_is_read_even_when_the_command_name_has_parentheses() -> None:
    line = "4242 (postgres: a (b) c) S 17 4242 4242 0 -1 4194560 10 0 0 0 120 30 7 3 20 0 1 0"

    times = parse_stat(line)

    assert (times.pid, times.parent, times.own, times.children) == (4242, 17, 150, 10)
    with pytest.raises(ValueError, match="not a /proc/PID/stat line"):
        parse_stat("garbage")


def test_a_process_trees_cpu_includes_children_that_already_ended() -> None:
    busy = f"{sys.executable} -c 'sum(i * i for i in range(3_000_000))'"
    # The shell waits for the busy child, then becomes `sleep` (no CPU of its own).
    shell = subprocess.Popen(["sh", "-c", f"{busy}; exec sleep 60"])
    try:
        for _ in range(600):
            if Path(f"/proc/{shell.pid}/comm").read_text().strip() == "sleep":
                break
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("the busy child did not finish")
        processes = all_processes()

        with_root = tree_ticks(shell.pid, processes)
        children_only = tree_ticks(shell.pid, processes, include_root_own=False)

        assert children_only is not None and children_only > 0  # the ended child's time
        assert with_root is not None and with_root >= children_only
        assert tree_ticks(-1, processes) is None  # no such process
    finally:
        shell.kill()
        shell.wait()


def test_the_report_shows_cpu_per_entry_for_each_component() -> None:
    scenario = Scenario(pod_start_delay=0.0, burst_entries=1000, burst_cpu_seconds=2.0)
    scenario.burst_cpu = dict.fromkeys(COMPONENTS, 0.5)
    scenario.burst_cpu["PostgreSQL (summed)"] = None

    lines = burst_cpu_table(scenario)

    assert "| operator | 0.50 | 0.50 |" in lines
    assert "| PostgreSQL (summed) | not found | — |" in lines
    assert "| total | 2.00 | 2.00 |" in lines
    assert burst_cpu_table(Scenario(pod_start_delay=0.0)) == []


def test_middle_rate_leaves_out_ramp_up_and_drain() -> None:
    from guestbook_operator.bench_e2e import middle_rate

    # 10 slow seals while the pool starts, 80 at 100/s, 10 slow ones draining.
    ramp = [i * 1.0 for i in range(10)]
    steady = [10.0 + i * 0.01 for i in range(80)]
    drain = [11.0 + i * 1.0 for i in range(10)]
    assert middle_rate(drain + steady + ramp) == pytest.approx(100, rel=0.02)
    assert middle_rate([5.0] * 20) == 0.0  # no time passed: cannot tell
    assert middle_rate([1.0]) == 0.0
