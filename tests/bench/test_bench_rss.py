"""The operator-memory mode of `guestbook-ledger bench e2e`: its verdict and its
input checks (the run itself is the benchmark, not a test)."""

from __future__ import annotations

import subprocess
import sys

from guestbook_bench.e2e import RssRun, rss_markdown, rss_verdict


def test_verdict_needs_the_goals_entry_count_to_claim_the_goal_met() -> None:
    assert rss_verdict(240.0, 100_000) == "met"
    assert rss_verdict(251.0, 100_000) == "missed"
    assert rss_verdict(300.0, 20_000) == "missed"
    assert rss_verdict(200.0, 20_000) == "not decided: only 20,000 entries"


def test_report_shows_the_figure_the_count_and_the_growth() -> None:
    run = RssRun(target=10, created=10, sealed=10, start_rss_mb=100.0)
    run.checkpoints = [(5, 120.0), (10, 130.0)]
    run.create_seconds, run.seal_seconds = 2.0, 3.0
    run.final_rss_mb, run.live_entries = 131.0, 10
    text = rss_markdown(run, "today", "guestbook-ledger bench e2e --rss-entries 10")
    assert "| operator RSS with 10 live entry resources" in text
    assert "131 MB (not decided: only 10 entries)" in text
    assert "5: 120 MB, 10: 130 MB" in text


def test_negative_entry_count_is_refused_with_one_sentence() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "bench", "e2e", "--rss-entries", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--rss-entries must not be negative" in done.stderr
    assert "Traceback" not in done.stderr
