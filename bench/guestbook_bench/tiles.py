"""`guestbook-ledger bench tiles`: the tlog-tiles read API at 10⁶ leaves.

A bench ledger is bulk-loaded (as `bench ledger` does) and then measured, each
loop bounded by a request count and a time limit, on loopback only:

- in the store: one tile read as served (`read_tile`, a range scan of stored
  nodes) against the alternative of storing every tile as a blob (a table of
  precomputed tiles, read by primary key), and one entry bundle;
- over HTTP, through the web UI served by uvicorn: full and partial hash
  tiles, entry bundles and ``/checkpoint``, from a few concurrent clients;
- signing: checkpoints signed per second (the part of a seal that changed).

The Kubernetes side of the web UI is not needed for tiles: its client points
at a closed loopback port and the entry feed just retries. The HTTP clients
run in the same process as the server (another thread), so the HTTP figures
are a lower bound of what a separate client would see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guestbook_ledger.usage import UsageError

from guestbook_bench.throwaway import progress

_CLIENTS = 4


@dataclass(frozen=True)
class Timing:
    """Latencies of one kind of request, in milliseconds, and its throughput."""

    label: str
    count: int
    per_second: float
    p50_ms: float
    p99_ms: float

    def row(self) -> str:
        return (
            f"| {self.label} | {self.count:,} | {self.per_second:,.0f} | "
            f"{self.p50_ms:.2f} | {self.p99_ms:.2f} |"
        )


def _timing(label: str, seconds: list[float], wall: float, parallel: bool = False) -> Timing:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    rate = len(seconds) / wall if parallel else len(seconds) / sum(seconds)
    return Timing(label, len(seconds), rate, statistics.median(ordered) * 1000, p99 * 1000)


def register_bench(benches: argparse._SubParsersAction[Any]) -> None:
    parser = benches.add_parser(
        "tiles",
        help="tlog-tiles read API at 10^6 leaves: tiles/s, checkpoints/s, p50/p99",
        description="Bulk-load a bench ledger, serve it with the web UI on 127.0.0.1 and "
        "measure tiles, entry bundles and checkpoints per second (p50/p99), and a stored-"
        "tiles alternative in the database; print a Markdown section for docs/benchmarks.md.",
    )
    parser.add_argument("--leaves", type=int, default=1_000_000, metavar="N")
    parser.add_argument(
        "--requests", type=int, default=2000, metavar="N", help="per kind (default 2000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, metavar="S", help="time limit per kind (20)"
    )
    parser.add_argument("--dsn", help="a superuser DSN of an empty database (default: embedded)")
    parser.set_defaults(func=run_bench_command)


def _bounded(action: Callable[[], object], requests: int, seconds: float) -> list[float]:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < requests and time.perf_counter() < deadline:
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def run_bench_command(args: argparse.Namespace) -> int:
    if not 70_000 <= args.leaves <= 10_000_000:
        raise UsageError("--leaves must be 70,000..10,000,000 (a full level-1 tile at least)")
    if not 1 <= args.requests <= 100_000 or not 0 < args.seconds <= 300:
        raise UsageError("--requests must be 1..100000 and --seconds 0..300")
    from guestbook_bench.environment import describe_machine
    from guestbook_bench.throwaway import bench_database

    with bench_database(args.dsn, progress=progress) as (conn, server):
        # psycopg2 hides a password in conn.dsn; the embedded server has none.
        rows = _measure(conn, args.dsn or conn.dsn, args.leaves, args.requests, args.seconds)
    print(
        f"Measured on {describe_machine()}, {server}; "
        f"`guestbook-ledger bench tiles --leaves {args.leaves} "
        f"--requests {args.requests} --seconds {args.seconds:g}`; a tree of "
        f"{args.leaves:,} leaves, random tiles; HTTP over loopback with {_CLIENTS} clients.\n"
    )
    print("| what | requests | per second | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(row.row())
    return 0


def _measure(conn: Any, dsn: str, leaves: int, requests: int, seconds: float) -> list[Timing]:
    from guestbook_ledger.format.checkpoint import sign_checkpoint
    from guestbook_ledger.format.sth import generate_private_key
    from guestbook_ledger.format.tiles import TILE_WIDTH, TilePath
    from guestbook_ledger.store.ledgers import ensure_ledger
    from guestbook_ledger.store.tiles import read_entry_records, read_tile

    from guestbook_bench.stored import BENCH_LEDGER, grow_ledger

    signer = generate_private_key()
    ensure_ledger(conn, BENCH_LEDGER, public_key=signer.public_key())
    grow_ledger(conn, signer, leaves, progress)
    rng = random.Random(9162)
    full0 = leaves // TILE_WIDTH
    full1 = leaves // TILE_WIDTH**2
    rows: list[Timing] = []

    progress("store: tiles derived from stored nodes, and stored as blobs…")
    sample = [TilePath(0, rng.randrange(full0), TILE_WIDTH) for _ in range(min(requests, 1000))]
    blobs = [
        (t.index, read_tile(conn, BENCH_LEDGER, t)) for t in {t.index: t for t in sample}.values()
    ]
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE stored_tiles"
            " (level int, idx bigint, data bytea, PRIMARY KEY (level, idx))"
        )
        cur.executemany("INSERT INTO stored_tiles VALUES (0, %s, %s)", blobs)
    picks = iter(rng.choice(sample) for _ in range(requests))

    def derived() -> None:
        read_tile(conn, BENCH_LEDGER, next(picks))

    times = _bounded(derived, requests, seconds)
    rows.append(_timing("store: level-0 tile from stored nodes (read_tile)", times, 0))
    picks = iter(rng.choice(sample) for _ in range(requests))

    def stored() -> None:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT data FROM stored_tiles WHERE level = 0 AND idx = %s",
                (next(picks).index,),
            )
            cur.fetchone()

    times = _bounded(stored, requests, seconds)
    rows.append(_timing("store: level-0 tile stored as a blob (alternative)", times, 0))
    bundles = iter(TilePath(None, rng.randrange(full0), TILE_WIDTH) for _ in range(requests))
    times = _bounded(
        lambda: read_entry_records(conn, BENCH_LEDGER, next(bundles)), requests, seconds
    )
    rows.append(_timing("store: entry bundle (read_entry_records)", times, 0))

    progress("signing checkpoints…")
    root = bytes(32)
    times = _bounded(
        lambda: sign_checkpoint(
            signer,
            ledger=BENCH_LEDGER,
            origin="ledger.guestbook.io/bench/ledger",
            tree_size=leaves,
            root_hash=root,
            timestamp="2026-11-25T12:00:00Z",
        ),
        requests,
        seconds,
    )
    rows.append(_timing("sign a checkpoint (Ed25519 signed note)", times, 0))

    progress("HTTP through the web UI…")
    kinds: dict[str, Callable[[], str]] = {
        "HTTP: full level-0 tile": lambda: f"/tile/0/{_index(rng.randrange(full0))}",
        "HTTP: full level-1 tile": lambda: f"/tile/1/{_index(rng.randrange(full1))}",
        "HTTP: partial tile (rightmost, level 0)": lambda: (
            f"/tile/0/{_index(full0)}.p/{rng.randrange(1, leaves % TILE_WIDTH + 1)}"
            if leaves % TILE_WIDTH
            else f"/tile/0/{_index(full0 - 1)}"
        ),
        "HTTP: full entry bundle": lambda: f"/tile/entries/{_index(rng.randrange(full0))}",
        "HTTP: /checkpoint": lambda: "/checkpoint",
    }
    for label, path in kinds.items():
        paths = [path() for _ in range(requests)]
        wall, times = asyncio.run(_http(dsn, paths, seconds))
        rows.append(_timing(label, times, wall, parallel=True))
    return rows


def _index(index: int) -> str:
    from guestbook_ledger.format.tiles import encode_index

    return encode_index(index)


def served_bench_ledger(dsn: str) -> contextlib.AbstractContextManager[str]:
    """The web UI of the bench ledger in ``dsn``, served on 127.0.0.1 in a thread
    (yields its URL); its Kubernetes client points at a closed port: tiles need none."""
    from guestbook_kube.credentials import ClusterSettings
    from guestbook_webui.app import create_app
    from guestbook_webui.kube import KubeApi
    from guestbook_webui.server import serve_in_thread
    from guestbook_webui.settings import WebSettings

    nowhere = KubeApi(ClusterSettings(server="http://127.0.0.1:9"))
    app = create_app(WebSettings(namespace="bench", ledger="ledger", dsn=dsn), kube=nowhere)
    return serve_in_thread(app)


async def _http(dsn: str, paths: list[str], seconds: float) -> tuple[float, list[float]]:
    import httpx

    times: list[float] = []
    with served_bench_ledger(dsn) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.get(paths[0])).status_code == 200, paths[0]
            queue = list(reversed(paths))
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                while queue and time.perf_counter() < deadline:
                    path = queue.pop()
                    start = time.perf_counter()
                    response = await client.get(path)
                    times.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {path}: {response.status_code}")

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(_CLIENTS)))
            wall = time.perf_counter() - began
    return wall, times
