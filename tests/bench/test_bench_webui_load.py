"""`bench webui --load` on a small ledger: entries preloaded through the API server,
page views and signatures against the web UI process, the signatures sealed as
the workers seal them, the figures as docs/benchmarks.md shows them."""

from __future__ import annotations

import math

import pytest
from guestbook_bench.webui_load import load_markdown, run_load_bench
from guestbook_kube.crds import crds_dir

pytestmark = pytest.mark.timeout(600)


def test_load_bench_views_pages_signs_and_seals_what_it_signed() -> None:
    run = run_load_bench(crds_dir(), preload=30, preload_seconds=120, seconds=2, concurrency=4)

    assert run.preloaded == 30
    views, signs = run.phases
    assert views.completed > 0 and signs.completed > 0
    assert (views.errors, signs.errors) == (0, 0)
    assert len(views.latencies) == views.completed
    assert run.sealed > 0  # the sealer sealed what was signed (as far as it got)
    assert all(math.isfinite(f) and f > 10 for f in (run.rss_ready_mb, run.peak_mb))
    text = load_markdown(run, 4, 2)
    assert "30 entries preloaded through the API server" in text
    assert "| `GET /` (page views) |" in text and "| `POST /entries` (signatures, JSON) |" in text
