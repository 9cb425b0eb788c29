"""`guestbook-ledger bench webui --load`: page views and signatures per second, with
p99, while entries are being sealed, and the web UI's memory with a large ledger.

On a throwaway upstream control plane and embedded PostgreSQL it
1. creates ``preload`` GuestbookEntries through the API server (bounded by
   ``preload_seconds``: the count reached is reported);
2. starts the web UI as its own process (``guestbook-ledger webui``, rate
   limits off: the load comes from one address), and reads its RSS from
   /proc once it has read every entry;
3. runs a sealer beside it — the ledger store's ``admit_entries`` and
   ``seal_batch`` (the functions the workers call) and a status patch per
   sealed entry through the API server, as the workers write it — so the
   web UI's feed receives a MODIFIED event for every seal;
4. for ``seconds`` each, with ``concurrency`` requests in flight: ``GET /``
   while a trickle of signatures keeps the sealer busy, then
   ``POST /entries`` (JSON), whose entries the sealer seals;
5. reads the web UI's RSS and peak RSS (VmHWM) again.

The load client and the sealer's API calls use aiohttp: httpx's per-request
CPU (a failed import probe per request among it) bounded the first figures at
~350 page views/s on this machine while the web UI had CPU to spare (decision
0153). Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from guestbook_kube.resources import ENTRY_PLURAL, GROUP, VERSION

NAMESPACE = "default"
ENTRY_PATH = f"/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{ENTRY_PLURAL}"
READY_TIMEOUT_SECONDS = 900.0
JSON = {"Content-Type": "application/json"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def _log(message: str) -> None:
    print(f"[bench webui] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def proc_memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MiB, from /proc; (nan, nan) when it is gone."""
    values = {"VmRSS": float("nan"), "VmHWM": float("nan")}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class LoadFigures:
    """One load phase: completed requests, errors (non-2xx/3xx), seconds, latencies."""

    what: str
    completed: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0

    def row(self, goal_rate: float, goal_p99_ms: float) -> str:
        p50 = percentile(self.latencies, 0.5) * 1000
        p99 = percentile(self.latencies, 0.99) * 1000
        met = "met" if self.rate >= goal_rate and p99 <= goal_p99_ms else "**missed**"
        return (
            f"| {self.what} | {self.rate:.0f}/s | {p50:.1f} ms | {p99:.1f} ms | {self.completed} "
            f"| {self.errors} | ≥ {goal_rate:.0f}/s, p99 ≤ {goal_p99_ms:.0f} ms: {met} |"
        )


@dataclass
class LoadRun:
    preload_wanted: int
    preloaded: int = 0
    preload_seconds: float = 0.0
    ready_seconds: float = 0.0
    rss_ready_mb: float = float("nan")
    rss_after_mb: float = float("nan")
    peak_mb: float = float("nan")
    sealed: int = 0
    phases: list[LoadFigures] = field(default_factory=list)


async def create_entries(
    api: aiohttp.ClientSession,
    wanted: int,
    *,
    seconds: float,
    concurrency: int,
    name_prefix: str,
    message: str,
    on_created: Callable[[int], None] | None = None,
) -> tuple[int, int, float]:
    """Create up to ``wanted`` GuestbookEntries through the API server in at most
    ``seconds``, ``concurrency`` requests in flight, each named ``name_prefix``…
    with the message ``message`` and its number; ``on_created(count)`` after each
    success. Returns (created, failed, seconds taken): a failed create (non-201
    or a transport error) is counted, not retried."""
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    next_number = created = failed = 0

    async def creator() -> None:
        nonlocal next_number, created, failed
        while next_number < wanted and time.monotonic() < deadline:
            number = next_number
            next_number += 1
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "GuestbookEntry",
                "metadata": {"generateName": name_prefix},
                "spec": {"author": "bench", "message": f"{message} {number}"},
            }
            try:
                async with api.post(ENTRY_PATH, data=orjson.dumps(body), headers=JSON) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = None
            if status != 201:
                failed += 1
                continue
            created += 1
            if on_created is not None:
                on_created(created)

    await asyncio.gather(*(creator() for _ in range(concurrency)))
    return created, failed, time.monotonic() - started


class Sealer:
    """Seals what the load creates, as the workers do: admit, seal in order, write
    the entry's status. ``add`` takes each created entry's JSON (as the web UI
    answered it)."""

    def __init__(self, dsn: str, ledger: str, api: aiohttp.ClientSession) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from guestbook_ledger.store import ensure_ledger, open_store

        self.conn = open_store(dsn)
        self.ledger = ledger
        self.key = Ed25519PrivateKey.generate()
        ensure_ledger(self.conn, ledger, public_key=self.key.public_key())
        self.api = api
        self.pending: list[dict[str, Any]] = []
        self.sealed = 0

    def add(self, entry: dict[str, Any]) -> None:
        self.pending.append(entry)

    def _seal(self, batch: list[dict[str, Any]]) -> list[Any]:
        from guestbook_ledger.store import NewEntry, admit_entries, seal_batch

        admit_entries(
            self.conn,
            self.ledger,
            [
                NewEntry(
                    entry=entry["name"],
                    uid=entry["uid"],
                    author=entry["spec"].get("author", ""),
                    message=entry["spec"]["message"],
                    submitted_at=entry["createdAt"],
                )
                for entry in batch
            ],
        )
        return seal_batch(self.conn, self.ledger, self.key, max_entries=1000).sealed

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            batch, self.pending = self.pending[:1000], self.pending[1000:]
            if not batch:
                await asyncio.sleep(0.1)
                continue
            sealed = await asyncio.to_thread(self._seal, batch)
            for item in sealed:
                status = {
                    "status": {
                        "phase": "Sealed",
                        "leafIndex": item.leaf_index,
                        "leafHash": item.leaf_hash.hex(),
                    }
                }
                path = f"{ENTRY_PATH}/{item.entry_name}/status"
                async with self.api.patch(
                    path, data=orjson.dumps(status), headers=MERGE_PATCH
                ) as response:
                    await response.read()
                self.sealed += 1

    def close(self) -> None:
        self.conn.close()


# One request of a load phase: (HTTP status, body).
Call = Callable[[int], Awaitable[tuple[int, bytes]]]


async def _phase(
    what: str,
    call: Call,
    seconds: float,
    concurrency: int,
    on_created: Callable[[dict[str, Any]], None] | None = None,
) -> LoadFigures:
    figures = LoadFigures(what)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while time.monotonic() < deadline:
            counter += 1
            t0 = time.perf_counter()
            try:
                status, body = await call(counter)
            except (aiohttp.ClientError, TimeoutError):
                figures.errors += 1
                continue
            figures.latencies.append(time.perf_counter() - t0)
            if status >= 400:
                figures.errors += 1
                continue
            figures.completed += 1
            if on_created is not None and status == 201:
                on_created(orjson.loads(body))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    figures.seconds = time.monotonic() - started
    return figures


def _requester(
    web: aiohttp.ClientSession, method: str, path: str
) -> Callable[..., Awaitable[tuple[int, bytes]]]:
    """A call of ``method path`` on ``web`` that reads the whole answer (gzip
    negotiated, as browsers do) and gives (status, body)."""

    async def request(body: object = None) -> tuple[int, bytes]:
        data = None if body is None else orjson.dumps(body)
        async with web.request(method, path, data=data, headers=JSON if data else None) as response:
            return response.status, await response.read()

    return request


async def _load(
    web_url: str,
    sealer: Sealer,
    *,
    seconds: float,
    concurrency: int,
) -> list[LoadFigures]:
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(web_url, connector=connector, timeout=timeout) as web:
        stop = asyncio.Event()
        sealing = asyncio.create_task(sealer.run(stop))
        page, sign = _requester(web, "GET", "/"), _requester(web, "POST", "/entries")

        async def trickle() -> None:  # keeps the sealer busy while pages are viewed
            number = 0
            while not stop.is_set() and number < 100_000:
                number += 1
                status, body = await sign({"message": f"trickle {number}"})
                if status == 201:
                    sealer.add(orjson.loads(body))
                await asyncio.sleep(0.05)

        try:
            trickling = asyncio.create_task(trickle())
            views = await _phase("`GET /` (page views)", lambda _: page(), seconds, concurrency)
            trickling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trickling
            signs = await _phase(
                "`POST /entries` (signatures, JSON)",
                lambda number: sign({"author": "load", "message": f"m {number}"}),
                seconds,
                concurrency,
                sealer.add,
            )
            # Let the sealer catch up a little, bounded.
            for _ in range(100):
                if not sealer.pending:
                    break
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await sealing
    return [views, signs]


@contextlib.asynccontextmanager
async def webui_process(
    kubeconfig: Path, dsn: str, log: Path
) -> AsyncIterator[tuple[str, int, float]]:
    """Start ``guestbook-ledger webui`` (rate limits off: the load comes from one
    address) as its own process, its output in ``log``, and wait until it is ready:
    yields (URL, pid, seconds until ready). Raises RuntimeError when the process
    ends first, TimeoutError when it is not ready within READY_TIMEOUT_SECONDS."""
    from guestbook_localcluster.controlplane import free_port

    port = free_port()
    command = [
        sys.executable, "-m", "guestbook_cli", "webui", "--port", str(port),
        "--kubeconfig", str(kubeconfig), "--dsn", dsn,
        "--requests-per-second", "0", "--submissions-per-minute", "0",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        yield url, process.pid, await asyncio.to_thread(_wait_ready, url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_ready(url: str, pid: int) -> float:
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_SECONDS:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/readyz", timeout=10).status_code == 200:
                return time.monotonic() - started
        if not Path(f"/proc/{pid}").exists():
            raise RuntimeError("the web UI process ended; see its log")
        time.sleep(0.2)
    raise TimeoutError(f"the web UI was not ready within {READY_TIMEOUT_SECONDS:.0f} s")


def run_load_bench(
    crds_dir: Path,
    *,
    preload: int,
    preload_seconds: float,
    seconds: float,
    concurrency: int,
) -> LoadRun:
    """Run the load benchmark (see the module docstring) and return its figures."""
    run = LoadRun(preload)
    with throwaway_cluster(crds_dir, "guestbook-webui-load-") as (plane, dsn, root):
        asyncio.run(_run(plane, dsn, root, run, preload, preload_seconds, seconds, concurrency))
    return run


@contextlib.contextmanager
def throwaway_control_plane(crds_dir: Path, root: Path) -> Iterator[Any]:
    """A throwaway upstream control plane in ``root`` (no kubelet) with the
    project's CRDs established."""
    from guestbook_localcluster.controlplane import ControlPlane
    from guestbook_localcluster.kubectl import Kubectl
    from guestbook_localcluster.upstream import ensure_binaries

    with ControlPlane(root / "cluster", ensure_binaries(), durable=False) as plane:
        kubectl = Kubectl(plane.admin_kubeconfig, root / "cache")
        for name in ("guestbookentries.yaml", "ledgers.yaml"):
            kubectl("apply", "-f", str(crds_dir / name))
        kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        yield plane


@contextlib.contextmanager
def throwaway_cluster(crds_dir: Path, prefix: str) -> Iterator[tuple[Any, str, Path]]:
    """A throwaway control plane with the project's CRDs and an embedded
    PostgreSQL database: (control plane, database DSN, scratch folder)."""
    from guestbook_localcluster.dev import ensure_database
    from guestbook_localcluster.postgres import start_postgres

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)  # the database server may run as another user
        database = start_postgres(root / "pg", durable=False)
        try:
            with throwaway_control_plane(crds_dir, root) as plane:
                yield plane, ensure_database(database, "bench"), root
        finally:
            database.stop()


async def _run(
    plane: Any,
    dsn: str,
    root: Path,
    run: LoadRun,
    preload: int,
    preload_seconds: float,
    seconds: float,
    concurrency: int,
) -> None:
    connector = aiohttp.TCPConnector(limit=80, ssl=plane.admin_tls())
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(plane.server_url, connector=connector, timeout=timeout) as api:

        def progress(count: int) -> None:
            if count % 10_000 == 0:
                _log(f"preloaded {count} entries")

        _log(f"preloading up to {preload} entries (at most {preload_seconds:.0f} s)")
        run.preloaded, _, run.preload_seconds = await create_entries(
            api, preload, seconds=preload_seconds, concurrency=64, name_prefix="pre-",
            message="preloaded entry number", on_created=progress,
        )  # fmt: skip
        _log(f"preloaded {run.preloaded} in {run.preload_seconds:.0f} s; starting the web UI")
        sealer = Sealer(dsn, f"{NAMESPACE}/guestbook", api)
        try:
            web = webui_process(plane.admin_kubeconfig, dsn, root / "webui.log")
            async with web as (url, pid, run.ready_seconds):
                run.rss_ready_mb, _ = proc_memory_mb(pid)
                _log(
                    f"web UI ready after {run.ready_seconds:.0f} s, RSS {run.rss_ready_mb:.0f} MiB"
                )
                run.phases = await _load(url, sealer, seconds=seconds, concurrency=concurrency)
                run.rss_after_mb, run.peak_mb = proc_memory_mb(pid)
                run.sealed = sealer.sealed
        finally:
            sealer.close()


def load_markdown(run: LoadRun, concurrency: int, seconds: float) -> str:
    """The figures as the Markdown of docs/benchmarks.md."""
    rss_ok = max(run.rss_after_mb, run.peak_mb) <= 150
    lines = [
        f"Ledger: {run.preloaded} entries preloaded through the API server "
        f"(wanted {run.preload_wanted}; {run.preload_seconds:.0f} s), web UI ready "
        f"(all listed) {run.ready_seconds:.1f} s after start. {concurrency} requests in "
        f"flight, {seconds:.0f} s per phase; {run.sealed} entries sealed (admit, seal, status "
        "patch) during the phases.",
        "",
        "| load | rate | p50 | p99 | completed | errors | goal |",
        "|---|---|---|---|---|---|---|",
        run.phases[0].row(500, 200) if run.phases else "| page views | – |",
        run.phases[1].row(200, 200) if len(run.phases) > 1 else "| signatures | – |",
        "",
        "| web UI memory | MiB |",
        "|---|---|",
        f"| RSS once ready with {run.preloaded} entries | {run.rss_ready_mb:.1f} |",
        f"| RSS after the load | {run.rss_after_mb:.1f} |",
        f"| peak RSS (VmHWM) | {run.peak_mb:.1f} |",
        f"| goal ≤ 150 MB | {'met' if rss_ok else '**missed**'} |",
    ]
    return "\n".join(lines)
