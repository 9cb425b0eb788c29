"""`guestbook-ledger bench devcluster`: throughput, watch latency and memory of the local API.

The server runs as its own process (`guestbook-ledger devcluster`, job runner
off), the load comes from one client process with many concurrent aiohttp
connections, so the figures include HTTP parsing on both sides as real
clients see it. While objects are created and patched one client watches the
collection, as the operator does, so every write's watch fan-out is part of
its cost. Besides rates (which vary with the load of a shared machine) it
reports the server's CPU time per request, read from /proc. Prints a Markdown
section for docs/benchmarks.md on stdout.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from guestbook_devcluster.server_process import devcluster_process

ENTRIES = "/apis/ledger.guestbook.io/v1alpha1/namespaces/default/guestbookentries"
TARGET_GETS = 2000.0
TARGET_PATCHES = 1000.0
TARGET_WATCH_P99_MS = 50.0
TARGET_RSS_MB = 500.0


@dataclass
class Results:
    gets_per_s: float
    patches_per_s: float
    create_cpu_ms: float
    get_cpu_ms: float
    patch_cpu_ms: float
    watched_events: int
    watch_chunks: int
    watch_p50_ms: float
    watch_p99_ms: float
    watch_deliveries: int
    objects: int
    rss_mb: float
    rss_empty_mb: float
    load_per_s: float
    load_average: str


def _crd_path() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "crds" / "guestbookentries.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("crds/guestbookentries.yaml not found next to the package")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _entry(n: int) -> dict[str, Any]:
    return {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": f"entry-{n:06d}", "labels": {"bench": "yes"}},
        "spec": {"author": f"author {n % 97}", "message": f"message number {n} " * 3},
    }


def _condition(kind: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }


def _status(n: int) -> bytes:
    """A Sealed status as the ledger workers write it (conditions included)."""
    return orjson.dumps(
        {
            "status": {
                "phase": "Sealed",
                "leafIndex": n,
                "leafHash": f"{n:064x}",
                "treeSize": n + 1,
                "rootHash": f"{n + 1:064x}",
                "sealedAt": "2025-12-31T00:00:00Z",  # not a watch latency marker
                "observedGeneration": 1,
                "conditions": [
                    _condition("Admitted", "Recorded", "Recorded in the ledger database."),
                    _condition("Sealed", "Sealed", f"Leaf {n} of the tree of size {n + 1}."),
                ],
            }
        }
    )


async def _bounded(concurrency: int, count: int, make: Any) -> float:
    """Run ``make(i)`` for i < count with ``concurrency`` workers; returns the seconds taken."""
    counter = iter(range(count))

    async def worker() -> None:
        for i in counter:
            await make(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def _load(url: str, session: aiohttp.ClientSession, start: int, count: int) -> float:
    async def create(i: int) -> None:
        async with session.post(url + ENTRIES, json=_entry(start + i)) as response:
            if response.status != 201:
                raise RuntimeError(f"create failed: {response.status} {await response.text()}")

    seconds = await _bounded(32, count, create)
    return count / seconds


async def _gets(url: str, session: aiohttp.ClientSession, objects: int, count: int) -> float:
    async def get(i: int) -> None:
        async with session.get(f"{url}{ENTRIES}/entry-{i % objects:06d}") as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"get failed: {response.status}")

    return count / await _bounded(32, count, get)


async def _patches(url: str, session: aiohttp.ClientSession, objects: int, count: int) -> float:
    headers = {"Content-Type": "application/merge-patch+json"}

    async def patch(i: int) -> None:
        path = f"{url}{ENTRIES}/entry-{i % objects:06d}/status"
        async with session.patch(path, data=_status(i), headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"patch failed: {response.status} {await response.text()}")

    return count / await _bounded(32, count, patch)


async def _watch_latency(url: str, watchers: int, events: int) -> tuple[list[float], int]:
    """Latency (ms) from sending a status PATCH to each watcher reading its event."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    connected = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        rv_now = (await (await session.get(url + ENTRIES, params={"limit": "1"})).json())[
            "metadata"
        ]["resourceVersion"]

        async def watch() -> None:
            nonlocal connected
            params = {"watch": "1", "resourceVersion": rv_now, "timeoutSeconds": "120"}
            async with session.get(url + ENTRIES, params=params) as response:
                connected += 1
                if connected == watchers:
                    ready.set()
                seen = 0
                buffer = b""
                async for chunk in response.content.iter_any():
                    now = time.perf_counter()
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        event = orjson.loads(line)
                        marker = event["object"].get("status", {}).get("sealedAt")
                        if marker in sent:
                            latencies.append((now - sent[marker]) * 1000)
                            seen += 1
                    if seen >= events:
                        return

        tasks = [asyncio.create_task(watch()) for _ in range(watchers)]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.5)
        headers = {"Content-Type": "application/merge-patch+json"}
        for i in range(events):
            marker = f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z"
            body = orjson.dumps({"status": {"sealedAt": marker}})
            sent[marker] = time.perf_counter()
            async with session.patch(
                f"{url}{ENTRIES}/entry-000000/status", data=body, headers=headers
            ) as response:
                await response.read()
            await asyncio.sleep(0.02)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return latencies, watchers * events


async def _watch_all(url: str, session: aiohttp.ClientSession, counted: list[int]) -> None:
    """Watch the collection (as the operator does) until cancelled, counting events
    (``counted[0]``) and the HTTP chunks the server wrote them in (``counted[1]``)."""
    params = {"watch": "1", "resourceVersion": "0", "timeoutSeconds": "3600"}
    async with session.get(url + ENTRIES, params=params) as response:
        while True:
            data, end_of_chunk = await response.content.readchunk()
            if not data and not end_of_chunk:
                return
            counted[0] += data.count(b"\n")
            counted[1] += end_of_chunk


async def _measure(url: str, pid: int, objects: int, requests: int) -> Results:
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        crd = yaml.safe_load(_crd_path().read_text())
        async with session.post(
            url + "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd
        ) as response:
            response.raise_for_status()
        rss_empty = _rss_mb(pid)
        counted = [0, 0]
        watcher = asyncio.create_task(_watch_all(url, session, counted))
        await asyncio.sleep(0.5)
        print(f"loading {objects} entries …", file=sys.stderr, flush=True)
        cpu = _cpu_seconds(pid)
        load_rate = await _load(url, session, 0, objects)
        create_cpu, cpu = _cpu_seconds(pid) - cpu, _cpu_seconds(pid)
        rss = _rss_mb(pid)
        print(f"GETs ({requests}) …", file=sys.stderr, flush=True)
        gets = await _gets(url, session, objects, requests)
        get_cpu, cpu = _cpu_seconds(pid) - cpu, _cpu_seconds(pid)
        print(f"status PATCHes ({requests}) …", file=sys.stderr, flush=True)
        patches = await _patches(url, session, objects, requests)
        await asyncio.sleep(0.5)  # let the watcher read the last events
        patch_cpu = _cpu_seconds(pid) - cpu
        watcher.cancel()
    print("watch latency (50 watchers) …", file=sys.stderr, flush=True)
    latencies, _ = await _watch_latency(url, 50, 100)
    latencies.sort()
    return Results(
        gets_per_s=gets,
        patches_per_s=patches,
        create_cpu_ms=create_cpu * 1000 / objects,
        get_cpu_ms=get_cpu * 1000 / requests,
        patch_cpu_ms=patch_cpu * 1000 / requests,
        watched_events=counted[0],
        watch_chunks=counted[1],
        watch_p50_ms=statistics.median(latencies),
        watch_p99_ms=latencies[int(len(latencies) * 0.99) - 1],
        watch_deliveries=len(latencies),
        objects=objects,
        rss_mb=max(rss, _rss_mb(pid)),
        rss_empty_mb=rss_empty,
        load_per_s=load_rate,
        load_average=", ".join(f"{x:.1f}" for x in os.getloadavg()),
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(results: Results, expected_deliveries: int) -> str:
    """The Markdown section for docs/benchmarks.md."""
    r = results
    rows = [
        (
            "GET one object",
            f"{r.gets_per_s:,.0f} /s",
            f"≥ {TARGET_GETS:,.0f} /s",
            r.gets_per_s >= TARGET_GETS,
        ),
        (
            "merge PATCH of `/status` (validated)",
            f"{r.patches_per_s:,.0f} /s",
            f"≥ {TARGET_PATCHES:,.0f} /s",
            r.patches_per_s >= TARGET_PATCHES,
        ),
        ("watch event to 50 watchers, p50", f"{r.watch_p50_ms:.1f} ms", "", None),
        (
            "watch event to 50 watchers, p99",
            f"{r.watch_p99_ms:.1f} ms",
            f"≤ {TARGET_WATCH_P99_MS:.0f} ms",
            r.watch_p99_ms <= TARGET_WATCH_P99_MS,
        ),
        (
            f"RSS with {r.objects:,} objects stored",
            f"{r.rss_mb:,.0f} MB (empty: {r.rss_empty_mb:,.0f} MB)",
            f"≤ {TARGET_RSS_MB:,.0f} MB",
            r.rss_mb <= TARGET_RSS_MB,
        ),
        ("create (POST, validated)", f"{r.load_per_s:,.0f} /s", "", None),
        ("server CPU per create", f"{r.create_cpu_ms:.3f} ms", "", None),
        ("server CPU per GET", f"{r.get_cpu_ms:.3f} ms", "", None),
        ("server CPU per status PATCH", f"{r.patch_cpu_ms:.3f} ms", "", None),
    ]
    table = "| measure | result | target | |\n|---|---|---|---|\n" + "\n".join(
        f"| {name} | {value} | {target} | {'' if ok is None else _verdict(ok)} |"
        for name, value, target, ok in rows
    )
    cpu = platform.processor() or platform.machine()
    return f"""## Local Kubernetes API (`guestbook-ledger bench devcluster`)

Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores ({cpu}), Python
{platform.python_version()}, load average {r.load_average} at the end. The server is its
own process (`guestbook-ledger devcluster --no-job-runner`, uvicorn + httptools +
uvloop); the load is one client process with 32 concurrent aiohttp connections;
objects are GuestbookEntries (CRD with structural schema and a CEL rule, status
subresource); the PATCHes write a Sealed status with its two conditions, as the
ledger workers do. One client watches the collection throughout, as the operator
does ({r.watched_events:,} events read, in {r.watch_chunks:,} chunks: the server
writes the events queued for a watcher as one chunk), so creates and PATCHes include
their watch fan-out. Server CPU is the server process's user + system time per request.

{table}

Watch latency is from sending the PATCH to each watcher reading the event
({r.watch_deliveries:,} of {expected_deliveries:,} deliveries measured, one write
every 20 ms). Objects are stored as compact JSON bytes (decision 0021).
"""


def run_bench(objects: int, requests: int) -> str:
    """Start a server process, measure, stop it; returns the Markdown section."""
    with devcluster_process("--no-job-runner", stop_timeout=30) as server:
        results = asyncio.run(_measure(server.url, server.pid, objects, requests))
    return render(results, 50 * 100)
