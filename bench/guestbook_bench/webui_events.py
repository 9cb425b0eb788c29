"""How fast a new entry reaches every open page, and what it costs the API server.

Starts a throwaway upstream control plane (no kubelet needed), applies the CRDs and
serves the web UI, then opens ``clients`` event streams two ways:

- ``shared``: browsers' streams from the web UI's ``/events`` — one list and
  one watch on the API server behind all of them (the design);
- ``per-client``: one watch on the API server per stream (the alternative).

For each of ``entries`` entries created one after another through the API
server, it records the time from just before the create request to the
arrival of the event on each stream. It also times ``POST /entries`` (sign),
``GET /`` with the entries listed, and ``GET /api/entries``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from guestbook_kube.resources import ENTRY_PLURAL, GROUP, VERSION

EVENT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Figures:
    """Milliseconds: median, 95th percentile, maximum, and the sample count."""

    median: float
    p95: float
    maximum: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Figures:
        ms = sorted(value * 1000 for value in seconds)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        return cls(statistics.median(ms), p95, ms[-1], len(ms))

    def row(self, label: str) -> str:
        return (
            f"| {label} | {self.median:.1f} ms | {self.p95:.1f} ms | {self.maximum:.1f} ms "
            f"| {self.count} |"
        )


def _entry(message: str) -> dict[str, object]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "GuestbookEntry",
        "metadata": {"generateName": "bench-", "namespace": "default"},
        "spec": {"message": message},
    }


async def _fan_out(
    open_stream: Callable[[], Awaitable[httpx.Response]],
    names_of: Callable[[str], list[str]],
    create: Callable[[int], Awaitable[str]],
    clients: int,
    entries: int,
) -> list[float]:
    """Latencies from create to arrival, one per (entry, stream)."""
    arrivals: list[dict[str, float]] = [{} for _ in range(clients)]
    seen = asyncio.Condition()

    async def read(stream_no: int, response: httpx.Response) -> None:
        async for line in response.aiter_lines():
            for name in names_of(line):
                async with seen:
                    arrivals[stream_no].setdefault(name, time.perf_counter())
                    seen.notify_all()

    responses = [await open_stream() for _ in range(clients)]
    readers = [asyncio.create_task(read(i, r)) for i, r in enumerate(responses)]
    latencies: list[float] = []
    try:
        await asyncio.sleep(0.5)  # let every stream deliver its snapshot first
        for number in range(entries):
            started = time.perf_counter()
            name = await create(number)
            async with seen:
                await asyncio.wait_for(
                    seen.wait_for(lambda name=name: all(name in a for a in arrivals)),  # type: ignore[misc]
                    EVENT_TIMEOUT,
                )
            latencies.extend(a[name] - started for a in arrivals)
    finally:
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for response in responses:
            await response.aclose()
    return latencies


def _sse_names(line: str) -> list[str]:
    if line.startswith("data:") and '"name"' in line:
        data = json.loads(line.removeprefix("data:"))
        return [data["name"]] if "name" in data else []
    return []


def _watch_names(line: str) -> list[str]:
    if not line.strip():
        return []
    event = json.loads(line)
    if event.get("type") == "ADDED":
        return [event["object"]["metadata"]["name"]]
    return []


async def _measure(
    api_url: str, tls: ssl.SSLContext, web_url: str, clients: int, entries: int
) -> str:
    path = f"/apis/{GROUP}/{VERSION}/namespaces/default/{ENTRY_PLURAL}"
    limits = httpx.Limits(max_connections=clients + 10)
    timeout = httpx.Timeout(EVENT_TIMEOUT)
    async with (
        httpx.AsyncClient(base_url=api_url, verify=tls, limits=limits, timeout=timeout) as api,
        httpx.AsyncClient(base_url=web_url, limits=limits, timeout=timeout) as web,
    ):

        async def create(number: int) -> str:
            response = await api.post(path, json=_entry(f"benchmark entry {number}"))
            response.raise_for_status()
            return str(response.json()["metadata"]["name"])

        async def open_sse() -> httpx.Response:
            return await web.send(web.build_request("GET", "/events"), stream=True)

        async def open_watch() -> httpx.Response:
            listed = (await api.get(path, params={"limit": "1"})).json()
            params = {"watch": "1", "resourceVersion": listed["metadata"]["resourceVersion"]}
            return await api.send(api.build_request("GET", path, params=params), stream=True)

        shared = await _fan_out(open_sse, _sse_names, create, clients, entries)
        direct = await _fan_out(open_watch, _watch_names, create, clients, entries)

        sign, page, listing = [], [], []
        for number in range(entries):
            started = time.perf_counter()
            response = await web.post("/entries", json={"message": f"signed {number}"})
            response.raise_for_status()
            sign.append(time.perf_counter() - started)
        for _ in range(entries):
            started = time.perf_counter()
            (await web.get("/")).raise_for_status()
            page.append(time.perf_counter() - started)
            started = time.perf_counter()
            (await web.get("/api/entries")).raise_for_status()
            listing.append(time.perf_counter() - started)
    listed = min(3 * entries, 100)
    return "\n".join(
        [
            "| measured | median | p95 | max | samples |",
            "|---|---|---|---|---|",
            Figures.of(shared).row(
                f"create → event on each of {clients} `/events` streams (shared feed: "
                "1 watch on the API server)"
            ),
            Figures.of(direct).row(
                f"create → event on each of {clients} direct watches ({clients} watches "
                "on the API server)"
            ),
            Figures.of(sign).row("`POST /entries` (JSON; creates the GuestbookEntry)"),
            Figures.of(page).row(f"`GET /` with {listed} entries listed"),
            Figures.of(listing).row(f"`GET /api/entries` ({listed} entries)"),
        ]
    )


def run_bench(crds_dir: Path, *, clients: int = 50, entries: int = 50) -> str:
    """Run the measurements on a throwaway control plane (upstream binaries, built on
    first use); return a Markdown table. Requires ``crds_dir`` to hold the CRD manifests."""
    from guestbook_webui.app import create_app
    from guestbook_webui.server import serve_in_thread
    from guestbook_webui.settings import WebSettings

    from guestbook_bench.webui_load import throwaway_control_plane

    with (
        tempfile.TemporaryDirectory(prefix="guestbook-webui-bench-") as tmp,
        throwaway_control_plane(crds_dir, Path(tmp)) as plane,
    ):
        app = create_app(WebSettings(kubeconfig=str(plane.admin_kubeconfig)))
        with serve_in_thread(app) as web_url:
            return asyncio.run(
                _measure(plane.server_url, plane.admin_tls(), web_url, clients, entries)
            )
