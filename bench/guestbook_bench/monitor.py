"""`guestbook-ledger bench monitor`: how long `guestbook-ledger monitor` takes to
follow a ledger of 10⁶ leaves served by the web UI.

A bench ledger is bulk-loaded (as `bench ledger` grows it, ending in a signed
checkpoint) and served by the web UI on 127.0.0.1 (its Kubernetes client points
at a closed port: tiles need none). The monitor runs as its own process, as a
user runs it, three times with one state directory: the first run (every tile
and bundle of the tree), a run with nothing new, and a run after the ledger
grew by ``--grow`` leaves. Each run is bounded by a 30-minute timeout.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from guestbook_ledger.usage import UsageError

from guestbook_bench.throwaway import progress as _progress


def register_bench(benches: argparse._SubParsersAction[Any]) -> None:
    parser = benches.add_parser(
        "monitor",
        help="guestbook-ledger monitor on 10^6 leaves: first run, no change, growth",
        description="Bulk-load a bench ledger, serve it with the web UI on 127.0.0.1 and time "
        "`guestbook-ledger monitor` (a separate process) catching up from nothing, with "
        "nothing new, and after --grow more leaves; print a Markdown section.",
    )
    parser.add_argument("--leaves", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--grow", type=int, default=10_000, metavar="N")
    parser.add_argument("--dsn", help="a superuser DSN of an empty database (default: embedded)")
    parser.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    if not 1 <= args.leaves <= 10_000_000 or not 1 <= args.grow <= 1_000_000:
        raise UsageError("--leaves must be 1..10,000,000 and --grow 1..1,000,000")
    from guestbook_bench.environment import describe_machine
    from guestbook_bench.throwaway import bench_database

    with bench_database(args.dsn, progress=_progress) as (conn, server):
        rows = _measure(conn, args.dsn or conn.dsn, args.leaves, args.grow)
    print(
        f"Measured on {describe_machine()}, {server}; "
        f"`guestbook-ledger bench monitor --leaves {args.leaves} --grow {args.grow}`; the web UI "
        "on 127.0.0.1, the monitor a separate process (4 concurrent fetches); requests = "
        "the checkpoint, the tiles and the entry bundles it fetched.\n"
    )
    print("| run | tree size | new entries | requests | seconds | entries/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    return 0


def _measure(conn: Any, dsn: str, leaves: int, grow: int) -> list[str]:
    from guestbook_ledger.format.checkpoint import verifier_key
    from guestbook_ledger.format.sth import generate_private_key
    from guestbook_ledger.format.tile_verification import tiles_to_fetch
    from guestbook_ledger.store.ledgers import ensure_ledger

    from guestbook_bench.stored import BENCH_LEDGER, grow_ledger
    from guestbook_bench.tiles import served_bench_ledger

    signer = generate_private_key()
    ledger = ensure_ledger(conn, BENCH_LEDGER, public_key=signer.public_key())
    grow_ledger(conn, signer, leaves, _progress)
    vkey = verifier_key(ledger.origin, signer.public_key())
    rows = []
    with tempfile.TemporaryDirectory() as state, served_bench_ledger(dsn) as url:

        def run(label: str, old: int, new: int) -> None:
            _progress(f"monitor: {label}…")
            command = [sys.executable, "-m", "guestbook_cli", "monitor", url]
            began = time.perf_counter()
            result = subprocess.run(
                [*command, "--vkey", vkey, "--state", str(Path(state))],
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            seconds = time.perf_counter() - began
            if result.returncode != 0:
                raise UsageError(f"the monitor failed: {result.stdout}{result.stderr}")
            # The checkpoint, then (when it grew) each level-0 tile with its bundle and
            # the tiles above.
            paths = tiles_to_fetch(old, new) if new > old else []
            fetched = 1 + len(paths) + len([p for p in paths if p.level == 0])
            rate = f"{(new - old) / seconds:,.0f}" if new > old else "–"
            rows.append(
                f"| {label} | {new:,} | {new - old:,} | {fetched:,} | {seconds:.1f} | {rate} |"
            )

        run("first run (the whole tree)", 0, leaves)
        run("nothing new", leaves, leaves)
        grow_ledger(conn, signer, leaves + grow, _progress)
        run(f"after {grow:,} new leaves", leaves, leaves + grow)
    return rows
