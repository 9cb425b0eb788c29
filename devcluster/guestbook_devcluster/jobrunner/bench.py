"""`guestbook-ledger bench jobs`: pod start overhead and the API under 50 running pods.

The server (with its job runner) runs as its own process, as in `make demo`;
this process is the client. Two measurements:

1. Pod start overhead at ``--pod-start-delay 0``: Jobs running
   ``python -c pass`` one after another; from the Job's creation to the pod
   seen Running, and to the Job seen Complete, minus the time the same
   command takes when started directly (the overhead the runner adds).
2. 50 concurrent pods: GETs/s from 32 concurrent clients with no pods, then
   while a Job keeps 50 pods running; the target is at least half the idle rate.

Prints a Markdown section for docs/benchmarks.md on stdout, progress on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx

from guestbook_devcluster.server_process import devcluster_process

JOBS = "/apis/batch/v1/namespaces/default/jobs"
PODS = "/api/v1/namespaces/default/pods"
TARGET_OVERHEAD_MS = 300.0
TARGET_RATIO = 0.5
CONCURRENT_PODS = 50


@dataclass
class Results:
    python_ms: float
    running_ms: list[float]
    complete_ms: list[float]
    idle_gets: float
    starting_gets: float
    busy_gets: float
    all_running_s: float

    @property
    def overhead_p50_ms(self) -> float:
        return statistics.median(self.complete_ms) - self.python_ms


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _job(name: str, code: str, parallelism: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "parallelism": parallelism,
            "completions": parallelism,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "main", "image": "python", "command": [sys.executable, "-c", code]}
                    ],
                }
            },
        },
    }


def _python_ms(runs: int) -> float:
    """Median milliseconds of ``python -c pass`` started directly."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def _watch_until(
    http: httpx.AsyncClient, path: str, version: str, done: Any, timeout: float = 120.0
) -> None:
    """Read watch events of ``path`` from ``version`` until ``done(event)`` is true."""
    params = {"watch": "1", "resourceVersion": version}
    async with asyncio.timeout(timeout):
        async with http.stream("GET", path, params=params, timeout=None) as response:
            async for line in response.aiter_lines():
                if line and done(json.loads(line)):
                    return


def _complete(event: dict[str, Any]) -> bool:
    conditions = (event["object"].get("status") or {}).get("conditions") or []
    return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)


async def _one_job(http: httpx.AsyncClient, index: int) -> tuple[float, float]:
    """Create one Job; milliseconds until its pod runs and until it is Complete."""
    version = (await http.get(JOBS)).json()["metadata"]["resourceVersion"]
    name = f"start-{index}"
    running_at: list[float] = []

    def pod_running(event: dict[str, Any]) -> bool:
        obj = event["object"]
        labels = obj.get("metadata", {}).get("labels") or {}
        phase = (obj.get("status") or {}).get("phase")
        return labels.get("job-name") == name and phase in ("Running", "Succeeded")

    async def watch_pod() -> None:
        await _watch_until(http, PODS, version, pod_running)
        running_at.append(time.perf_counter())

    async def watch_job() -> None:
        await _watch_until(
            http, JOBS, version, lambda e: e["object"]["metadata"]["name"] == name and _complete(e)
        )

    pod_task = asyncio.create_task(watch_pod())
    job_task = asyncio.create_task(watch_job())
    await asyncio.sleep(0.05)  # let both watches connect before the Job exists
    start = time.perf_counter()
    response = await http.post(JOBS, json=_job(name, "pass"))
    response.raise_for_status()
    await job_task
    complete = time.perf_counter()
    await pod_task
    await http.request("DELETE", f"{JOBS}/{name}", params={"propagationPolicy": "Background"})
    return (running_at[0] - start) * 1000, (complete - start) * 1000


async def _gets_per_s(url: str, count: int) -> float:
    """GETs/s of one ConfigMap from 32 concurrent aiohttp clients (as `bench devcluster`)."""
    counter = iter(range(count))
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def worker() -> None:
            for _ in counter:
                async with session.get("/api/v1/namespaces/default/configmaps/probe") as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"GET failed: {answer.status}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(32)))
        return count / (time.perf_counter() - start)


async def _measure(url: str, jobs: int, requests: int) -> Results:
    python_ms = _python_ms(10)
    _progress(f"python -c pass alone: {python_ms:.0f} ms")
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        running, complete = [], []
        for index in range(jobs):
            to_running, to_complete = await _one_job(http, index)
            running.append(to_running)
            complete.append(to_complete)
        _progress(f"{jobs} jobs: p50 to Complete {statistics.median(complete):.0f} ms")

        await http.post(
            "/api/v1/namespaces/default/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}},
        )
        await _gets_per_s(url, requests)  # warm-up: connections, caches
        # Medians of three: the machine is shared, single runs swing widely.
        idle = statistics.median([await _gets_per_s(url, requests) for _ in range(3)])
        _progress(f"idle: {idle:.0f} GETs/s")
        version = (await http.get(PODS)).json()["metadata"]["resourceVersion"]
        seen_running: set[str] = set()

        def all_running(event: dict[str, Any]) -> bool:
            obj = event["object"]
            if (obj.get("status") or {}).get("phase") == "Running":
                seen_running.add(obj["metadata"]["name"])
            return len(seen_running) >= CONCURRENT_PODS

        watcher = asyncio.create_task(_watch_until(http, PODS, version, all_running))
        await asyncio.sleep(0.05)
        start = time.perf_counter()
        code = "import time; time.sleep(60)"
        response = await http.post(JOBS, json=_job("busy", code, CONCURRENT_PODS))
        response.raise_for_status()
        # Load the API while the 50 pods are being started (the kubelet at its busiest).
        starting = await _gets_per_s(url, requests)
        _progress(f"while {CONCURRENT_PODS} pods start: {starting:.0f} GETs/s")
        await watcher
        all_running_s = time.perf_counter() - start
        _progress(f"{CONCURRENT_PODS} pods running after {all_running_s:.1f} s")
        busy = statistics.median([await _gets_per_s(url, requests) for _ in range(3)])
        _progress(f"with {CONCURRENT_PODS} pods: {busy:.0f} GETs/s")
        await http.request("DELETE", f"{JOBS}/busy", params={"propagationPolicy": "Background"})
    return Results(python_ms, running, complete, idle, starting, busy, all_running_s)


def render(results: Results) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    overhead = results.overhead_p50_ms
    ratio = min(results.busy_gets, results.starting_gets) / results.idle_gets
    running = sorted(results.running_ms)
    complete = sorted(results.complete_ms)

    def p90(values: list[float]) -> float:
        return values[min(len(values) - 1, int(len(values) * 0.9))]

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    load = os.getloadavg()[0]
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores "
        f"(load average {load:.1f} at the end)"
    )
    return "\n".join(
        [
            "## Job runner (`guestbook-ledger bench jobs`)",
            "",
            f"Measured {today} on {machine},",
            f"Python {platform.python_version()}; server and job runner in one process",
            "(`guestbook-ledger devcluster`, pod start delay 0), the client in another.",
            "Figures are client-side (watch events as kubectl sees them).",
            "",
            "| measure | p50 | p90 | target |",
            "|---|---|---|---|",
            f"| `python -c pass` started directly | {results.python_ms:.0f} ms | | |",
            f"| Job created → pod Running | {statistics.median(running):.0f} ms "
            f"| {p90(running):.0f} ms | |",
            f"| Job created → Job Complete | {statistics.median(complete):.0f} ms "
            f"| {p90(complete):.0f} ms | |",
            f"| pod start overhead (Complete − direct run) | {overhead:.0f} ms | "
            f"| ≤ {TARGET_OVERHEAD_MS:.0f} ms p50: {verdict(overhead <= TARGET_OVERHEAD_MS)} |",
            "",
            "| 50 concurrent pods | value | target |",
            "|---|---|---|",
            f"| all 50 pods Running after | {results.all_running_s:.1f} s | |",
            f"| GETs/s, no pods (median of 3) | {results.idle_gets:.0f} | |",
            f"| GETs/s while the 50 pods start | {results.starting_gets:.0f} "
            f"({results.starting_gets / results.idle_gets:.0%} of idle) | ≥ {TARGET_RATIO:.0%} |",
            f"| GETs/s, 50 pods running (median of 3) | {results.busy_gets:.0f} "
            f"({results.busy_gets / results.idle_gets:.0%} of idle) | ≥ {TARGET_RATIO:.0%} |",
            f"| worst of the two vs idle | {ratio:.0%} | {verdict(ratio >= TARGET_RATIO)} |",
            "",
        ]
    )


def run_bench(jobs: int, requests: int) -> str:
    """Start a server process with its job runner, measure, stop it; the Markdown section."""
    with devcluster_process() as server:
        results = asyncio.run(_measure(server.url, jobs, requests))
    return render(results)
