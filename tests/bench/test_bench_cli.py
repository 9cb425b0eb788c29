"""`guestbook-ledger bench ledger` runs end to end on small sizes and reports every
target as met or missed (the figures themselves belong in docs/benchmarks.md)."""

from __future__ import annotations

import re

import pytest
from guestbook_cli.dispatch import main


def test_a_small_run_prints_the_ledger_section(
    ledger_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "ledger", "--sizes", "6000", "11000", "--memory-leaves", "500"]
    assert main([*argv, "--dsn", ledger_dsn]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith("Measured ")
    assert re.search(r"\d+ CPUs \(", out)
    for goal in ("root of 500 leaves", "ledger of 11,000 leaves (median)"):
        assert re.search(rf"{re.escape(goal)}.*\| (met|\*\*missed\*\*) \|", out), goal
    assert re.search(r"^\| 6,000 \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms ", out, re.MULTILINE)
    assert re.search(r"^\| 11,000 \| [\d.]+ ms \|", out, re.MULTILINE)
    assert "| pymerkle InmemoryTree (hashes the records itself) |" in out
    assert "loaded 6,000 of 6,000 leaves" in captured.err
    # The bulk-loaded ledger is exactly what sealing stores: the audit finds nothing.
    assert "of the final 16,000-leaf ledger" in out and "no mismatches" in out


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--sizes", "10000", "12000"], "sizes must ascend by at least 5000"),
        (["--sizes", "0"], "sizes must be at least 1"),
        (["--memory-leaves", "1"], "--memory-leaves at least 2"),
    ],
)
def test_bad_sizes_exit_2_with_a_sentence(
    arguments: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "ledger", *arguments]) == 2
    assert complaint in capsys.readouterr().err
