"""`guestbook-ledger bench witness` runs against a real witness process and prints
its Markdown table (figures are never asserted: the machine is shared)."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_bench_witness_prints_a_table_row_per_client_count() -> None:
    ran = run_cli("bench", "witness", "--rounds", "3", "--leaves", "2", "--clients", "1", "2",
                  timeout=600)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "| clients (logs) | cosignatures | cosignatures/s | p50 ms | p99 ms |" in ran.stdout
    rows = [line for line in ran.stdout.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert [row.split(" | ")[1] for row in rows] == ["3", "6"]  # every request cosigned


def test_bench_witness_refuses_unbounded_runs() -> None:
    ran = run_cli("bench", "witness", "--rounds", "1000000")
    assert ran.returncode == 2 and "--rounds is 1..10000" in ran.stderr
