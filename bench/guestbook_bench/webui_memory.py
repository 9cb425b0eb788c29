"""`guestbook-ledger bench webui --memory`: the web UI's RSS while a ledger grows to
``entries`` entries, and once more when a fresh web UI starts on that ledger.

The load benchmark (bench_load.py) creates its entries before the web UI starts
and shares its preload time with page and signature load; here the web UI runs
from the start, empty, and watches every entry arrive, as it would in a
cluster. On a throwaway upstream control plane and embedded PostgreSQL it
1. starts the web UI as its own process and reads its RSS once ready;
2. creates up to ``entries`` GuestbookEntries directly through the API server,
   ``concurrency`` creates in flight, for at most ``seconds`` (the count
   reached is reported), reading the web UI's RSS every ``sample_every``;
3. lets the web UI's feed settle, asks it for ``/`` and ``/api/entries`` (the
   pages that hold the feed's window), and reads its RSS and peak (VmHWM);
4. starts a second web UI process on the same ledger, waits until it has read
   every entry, and reads its RSS and peak.

Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from guestbook_bench.webui_load import (
    NAMESPACE,
    _log,
    create_entries,
    proc_memory_mb,
    throwaway_cluster,
    webui_process,
)

LEDGER = f"{NAMESPACE}/guestbook"
GOAL_MB = 150.0
# The feed reaches the web UI through a watch: time for its last events to arrive.
SETTLE_SECONDS = 30.0


@dataclass
class MemoryRun:
    """What one run measured; RSS figures in MiB (NaN when not reached)."""

    wanted: int
    created: int = 0
    failed: int = 0
    create_seconds: float = 0.0
    rss_empty_mb: float = float("nan")
    samples: list[tuple[int, float]] = field(default_factory=list)
    rss_live_mb: float = float("nan")
    peak_live_mb: float = float("nan")
    fresh_ready_seconds: float = float("nan")
    rss_fresh_mb: float = float("nan")
    peak_fresh_mb: float = float("nan")

    @property
    def met(self) -> bool:
        """The goal: every wanted entry exists and no RSS figure is above 150 MB."""
        peaks = (self.peak_live_mb, self.peak_fresh_mb)
        return self.created >= self.wanted and all(p * 1.048576 <= GOAL_MB for p in peaks)


def run_memory_bench(
    crds_dir: Path,
    *,
    entries: int,
    seconds: float,
    concurrency: int,
    sample_every: int,
    settle_seconds: float = SETTLE_SECONDS,
) -> MemoryRun:
    """Run the memory benchmark (see the module docstring) and return its figures.
    Raises RuntimeError or TimeoutError when a web UI process does not become ready."""
    run = MemoryRun(entries)
    with throwaway_cluster(crds_dir, "guestbook-webui-memory-") as (plane, dsn, root):
        _register_ledger(dsn)
        asyncio.run(_run(plane, dsn, root, run, seconds, concurrency, sample_every, settle_seconds))
    return run


def _register_ledger(dsn: str) -> None:
    """The ledger's database rows and a key, as the operator makes them (the web UI
    reads its tree head from there)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from guestbook_ledger.store import ensure_ledger, open_store

    conn = open_store(dsn)
    try:
        ensure_ledger(conn, LEDGER, public_key=Ed25519PrivateKey.generate().public_key())
    finally:
        conn.close()


async def _run(
    plane: Any,
    dsn: str,
    root: Path,
    run: MemoryRun,
    seconds: float,
    concurrency: int,
    sample_every: int,
    settle_seconds: float,
) -> None:
    # The creates on aiohttp, as the load benchmark's (decision 0153).
    connector = aiohttp.TCPConnector(limit=concurrency + 8, ssl=plane.admin_tls())
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(plane.server_url, connector=connector, timeout=timeout) as api:
        live = webui_process(plane.admin_kubeconfig, dsn, root / "webui-live.log")
        async with live as (url, pid, _):
            run.rss_empty_mb, _ = proc_memory_mb(pid)
            _log(f"web UI ready on an empty ledger, RSS {run.rss_empty_mb:.0f} MiB")

            def sample(count: int) -> None:
                if count % sample_every == 0:
                    rss, _ = proc_memory_mb(pid)
                    run.samples.append((count, rss))
                    _log(f"{count} entries created, web UI RSS {rss:.0f} MiB")

            _log(f"creating up to {run.wanted} entries (at most {seconds:.0f} s)")
            run.created, run.failed, run.create_seconds = await create_entries(
                api, run.wanted, seconds=seconds, concurrency=concurrency, name_prefix="mem-",
                message="memory bench entry number", on_created=sample,
            )  # fmt: skip
            _log(f"created {run.created} in {run.create_seconds:.0f} s ({run.failed} failed)")
            await asyncio.sleep(settle_seconds)
            async with httpx.AsyncClient(base_url=url, timeout=120) as web:
                for path in ("/", "/api/entries", "/", "/api/entries"):
                    (await web.get(path)).raise_for_status()
            run.rss_live_mb, run.peak_live_mb = proc_memory_mb(pid)
        _log("starting a fresh web UI on the grown ledger")
        fresh = webui_process(plane.admin_kubeconfig, dsn, root / "webui-fresh.log")
        async with fresh as (url, pid, run.fresh_ready_seconds):
            async with httpx.AsyncClient(base_url=url, timeout=120) as web:
                (await web.get("/")).raise_for_status()
            run.rss_fresh_mb, run.peak_fresh_mb = proc_memory_mb(pid)


def memory_markdown(run: MemoryRun, concurrency: int) -> str:
    """The figures as the Markdown of docs/benchmarks.md."""
    rate = run.created / run.create_seconds if run.create_seconds else 0.0
    verdict = "met" if run.met else "**missed**"
    if run.created < run.wanted:
        verdict += f" (only {run.created} of {run.wanted} entries created)"
    samples = ", ".join(f"{count:,}: {rss:.0f}" for count, rss in run.samples)
    lines = [
        f"Ledger: {run.created} entries created directly through the API server while the "
        f"web UI ran (wanted {run.wanted}; {run.create_seconds:.0f} s, {rate:.0f}/s, "
        f"{concurrency} creates in flight, {run.failed} failed).",
        "",
        "| web UI memory | MiB |",
        "|---|---|",
        f"| RSS once ready, empty ledger | {run.rss_empty_mb:.1f} |",
        f"| RSS with {run.created} entries, after `/` and `/api/entries` | {run.rss_live_mb:.1f} |",
        f"| peak RSS (VmHWM) of that process | {run.peak_live_mb:.1f} |",
        f"| fresh web UI on {run.created} entries: ready after | {run.fresh_ready_seconds:.1f} s |",
        f"| fresh web UI: RSS / peak | {run.rss_fresh_mb:.1f} / {run.peak_fresh_mb:.1f} |",
        f"| goal ≤ 150 MB (143.1 MiB), both processes | {verdict} |",
        "",
        f"RSS (MiB) while creating, by entries created: {samples or 'no sample reached'}.",
    ]
    return "\n".join(lines)
