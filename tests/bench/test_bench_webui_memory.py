"""`bench webui --memory` on a small ledger: entries created through the API server
while the web UI runs, its RSS sampled, a fresh web UI started on the result."""

from __future__ import annotations

import math

import pytest
from guestbook_bench.webui_memory import memory_markdown, run_memory_bench
from guestbook_kube.crds import crds_dir

pytestmark = pytest.mark.timeout(600)


def test_memory_bench_creates_the_entries_and_reads_both_web_uis_memory() -> None:
    run = run_memory_bench(
        crds_dir(), entries=40, seconds=300, concurrency=8, sample_every=10, settle_seconds=2
    )
    assert (run.created, run.failed) == (40, 0)
    assert [count for count, _ in run.samples] == [10, 20, 30, 40]
    figures = [run.rss_empty_mb, run.rss_live_mb, run.peak_live_mb, run.rss_fresh_mb]
    assert all(math.isfinite(f) and f > 10 for f in figures), figures
    assert run.peak_live_mb >= run.rss_live_mb
    text = memory_markdown(run, 8)
    assert "40 entries created directly through the API server" in text
    assert ("met" if run.met else "**missed**") in text


def test_memory_bench_reports_a_ledger_it_could_not_fill_as_missed() -> None:
    # 1 s for 5,000 creates: the count reached is reported, and the goal as missed.
    run = run_memory_bench(
        crds_dir(), entries=5000, seconds=1, concurrency=4, sample_every=1000, settle_seconds=1
    )
    assert 0 < run.created < 5000
    assert not run.met
    assert f"only {run.created} of 5000 entries created" in memory_markdown(run, 4)
