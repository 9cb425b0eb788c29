"""`guestbook-ledger bench witness`: add-checkpoint throughput and latency of a real
`guestbook-ledger witness serve` process on 127.0.0.1.

Each client is one log (its own origin and key) on one keep-alive connection;
it submits ``--rounds`` checkpoints in turn, each ``--leaves`` larger than the
last, with the consistency proof from the size the witness holds. Request
bodies are built before the clock starts, so the figures are the witness's:
parsing, two Ed25519 operations, the proof, and one synchronous SQLite commit.
Prints a Markdown section for docs/benchmarks.md; bounded in count and time.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import checkpoint_text, verifier_key
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.note import Note, sign_note
from guestbook_ledger.format.tree import consistency_proof, root_hash
from guestbook_ledger.usage import UsageError
from guestbook_operator.witness_client import add_checkpoint_body

MAX_SECONDS = 300.0


def register_bench(benches: argparse._SubParsersAction[Any]) -> None:
    bench = benches.add_parser(
        "witness",
        help="tlog-witness add-checkpoint: cosignatures/s and p50/p99 latency",
        description="Measure a real `witness serve` process on 127.0.0.1 and print a "
        "Markdown section for docs/benchmarks.md.",
    )
    bench.add_argument("--rounds", type=int, default=300, help="checkpoints per client")
    bench.add_argument("--leaves", type=int, default=16, help="leaves added per checkpoint")
    bench.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4], help="concurrent clients (logs)"
    )
    bench.set_defaults(func=run_bench)


def _bodies(origin: str, key: Ed25519PrivateKey, rounds: int, step: int) -> list[bytes]:
    leaves = [leaf_hash(f"{origin} {i}".encode()) for i in range(rounds * step)]
    bodies = []
    for round_ in range(rounds):
        old, new = round_ * step, (round_ + 1) * step
        text = checkpoint_text(origin, new, root_hash(leaves[:new]))
        note = Note(text, (sign_note(text, origin, key),)).to_text()
        proof = consistency_proof(leaves[:new], old) if old else []
        bodies.append(add_checkpoint_body(old, proof, note))
    return bodies


def _client(port: int, bodies: list[bytes], latencies: list[float], deadline: float) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for body in bodies:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            conn.request("POST", "/add-checkpoint", body=body)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                raise RuntimeError(f"the witness answered {response.status}: {answer!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        conn.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the witness exited at start")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the witness did not answer within 60 s")


def _measure(clients: int, rounds: int, step: int, folder: Path) -> dict[str, float]:
    logs = [(f"bench.test/log{i}", Ed25519PrivateKey.generate()) for i in range(clients)]
    bodies = [_bodies(origin, key, rounds, step) for origin, key in logs]
    state = folder / f"state-{clients}"
    command = [sys.executable, "-m", "guestbook_cli", "witness"]
    subprocess.run([*command, "init", "--state", str(state), "--name", "bench.test/w"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    from guestbook_localcluster.controlplane import free_port

    port = free_port()
    log_options = [arg for origin, key in logs
                   for arg in ("--log", verifier_key(origin, key.public_key()))]  # fmt: skip
    process = subprocess.Popen(
        [*command, "serve", "--state", str(state), "--listen", f"127.0.0.1:{port}", *log_options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_listening(port, process)
        latencies: list[list[float]] = [[] for _ in range(clients)]
        deadline = time.monotonic() + MAX_SECONDS
        threads = [
            threading.Thread(target=_client, args=(port, bodies[i], latencies[i], deadline))
            for i in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(MAX_SECONDS + 60)
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    every = sorted(x for one in latencies for x in one)
    if not every:
        raise RuntimeError("no request completed")
    return {
        "requests": len(every),
        "per_second": len(every) / elapsed,
        "p50_ms": statistics.median(every) * 1000,
        "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000,
    }


def run_bench(args: argparse.Namespace) -> int:
    if not 1 <= args.rounds <= 10_000 or not 1 <= args.leaves <= 1000:
        raise UsageError("--rounds is 1..10000 and --leaves 1..1000")
    if any(not 1 <= c <= 32 for c in args.clients):
        raise UsageError("--clients are 1..32")
    rows = []
    with tempfile.TemporaryDirectory(prefix="witness-bench-") as folder:
        for clients in args.clients:
            print(f"measuring {clients} client(s)...", file=sys.stderr)
            figures = _measure(clients, args.rounds, args.leaves, Path(folder))
            rows.append(
                f"| {clients} | {figures['requests']:.0f} | {figures['per_second']:.0f} | "
                f"{figures['p50_ms']:.1f} | {figures['p99_ms']:.1f} |"
            )
    today = datetime.date.today().isoformat()
    print(f"## Witness (`guestbook-ledger bench witness`, {today})\n")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end, "
        f"SQLite synchronous=FULL on {tempfile.gettempdir()}. "
        f"{args.rounds} checkpoints per client, each {args.leaves} leaves larger, with "
        "the consistency proof from the size held; one keep-alive connection per client.\n"
    )
    print("| clients (logs) | cosignatures | cosignatures/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0
