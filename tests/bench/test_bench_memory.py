"""The in-memory root benchmark compares like with like: `pymerkle` computes the
same v1 root as ours from the same records, `merkle` (no node prefix) does not."""

from __future__ import annotations

import pytest
from guestbook_bench.memory import bench_root


def test_benchmark_reports_every_competitor_on_the_same_records() -> None:
    figures = bench_root(300, pymerkle_leaves=100)
    assert figures["leaves"] == 300
    assert figures["pymerkle_measured_leaves"] == 100
    assert figures["pymerkle_root_matches"] == 1.0
    assert figures["merkle_root_matches"] == 0.0
    for name in (
        "guestbook_ledger_s",
        "leaf_hashing_s",
        "sha256_calls_s",
        "merkle_s",
        "pymerkle_s",
    ):
        assert figures[name] > 0


def test_benchmark_needs_two_leaves() -> None:
    with pytest.raises(ValueError, match="at least 2 leaves"):
        bench_root(1)
