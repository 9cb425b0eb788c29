"""`guestbook-ledger bench webui`: live-update latency and page timings
(webui_events.py; with --load, webui_load.py)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from typing import Any

from guestbook_kube.crds import crds_dir
from guestbook_ledger.usage import UsageError


def register_bench(benches: argparse._SubParsersAction[Any]) -> None:
    parser = benches.add_parser(
        "webui",
        help="time from a new entry to every open page; sign and page timings",
        description="Start the local Kubernetes API and the web UI, open N event streams "
        "through the web UI (one shared watch) and N direct watches, create entries, and "
        "print a Markdown section for docs/benchmarks.md.",
    )
    parser.add_argument("--clients", type=int, default=50, metavar="N", help="streams (50)")
    parser.add_argument("--entries", type=int, default=50, metavar="N", help="entries (50)")
    load = parser.add_argument_group(
        "load", "--load: page views/s and signatures/s with p99 while sealing, and RSS"
    )
    load.add_argument("--load", action="store_true", help="run the load benchmark instead")
    load.add_argument("--preload", type=int, default=100_000, metavar="N",
                      help="entries in the ledger first (100000)")  # fmt: skip
    load.add_argument("--preload-seconds", type=float, default=900, metavar="S",
                      help="stop preloading after S s (900); the count is reported")  # fmt: skip
    load.add_argument("--seconds", type=float, default=20, metavar="S",
                      help="seconds per load phase (20)")  # fmt: skip
    load.add_argument("--concurrency", type=int, default=16, metavar="N",
                      help="requests in flight (16)")  # fmt: skip
    memory = parser.add_argument_group(
        "memory", "--memory: the web UI's RSS while entries are created through the API server"
    )
    memory.add_argument("--memory", action="store_true", help="run the memory benchmark instead")
    memory.add_argument("--memory-entries", type=int, default=100_000, metavar="N",
                        help="entries to create (100000)")  # fmt: skip
    memory.add_argument("--memory-seconds", type=float, default=3600, metavar="S",
                        help="stop creating after S s (3600); the count is reported")  # fmt: skip
    memory.add_argument("--memory-concurrency", type=int, default=32, metavar="N",
                        help="creates in flight (32)")  # fmt: skip
    parser.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    from guestbook_bench.webui_events import run_bench

    if args.load:
        return run_load_command(args)
    if args.memory:
        return run_memory_command(args)
    if not 1 <= args.clients <= 500 or not 1 <= args.entries <= 1000:
        raise UsageError("--clients must be 1..500 and --entries 1..1000")
    print("measuring (about a minute) …", file=sys.stderr, flush=True)
    table = run_bench(crds_dir(), clients=args.clients, entries=args.entries)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"Measured {now}, {platform.machine()}, Python {platform.python_version()}, "
        f"`guestbook-ledger bench webui --clients {args.clients} --entries {args.entries}`.\n"
    )
    print(table)
    return 0


def run_load_command(args: argparse.Namespace) -> int:
    from guestbook_bench.webui_load import load_markdown, run_load_bench

    if not 0 <= args.preload <= 200_000 or not 0 < args.preload_seconds <= 3600:
        raise UsageError("--preload must be 0..200000 and --preload-seconds 1..3600")
    if not 1 <= args.seconds <= 600 or not 1 <= args.concurrency <= 256:
        raise UsageError("--seconds must be 1..600 and --concurrency 1..256")
    run = run_load_bench(
        crds_dir(),
        preload=args.preload,
        preload_seconds=args.preload_seconds,
        seconds=args.seconds,
        concurrency=args.concurrency,
    )
    _print_measured(
        f"--load --preload {args.preload} --seconds {args.seconds:g} "
        f"--concurrency {args.concurrency}"
    )
    print(load_markdown(run, args.concurrency, args.seconds))
    return 0


def run_memory_command(args: argparse.Namespace) -> int:
    from guestbook_bench.webui_memory import memory_markdown, run_memory_bench

    if not 1 <= args.memory_entries <= 200_000 or not 0 < args.memory_seconds <= 7200:
        raise UsageError("--memory-entries must be 1..200000 and --memory-seconds 1..7200")
    if not 1 <= args.memory_concurrency <= 256:
        raise UsageError("--memory-concurrency must be 1..256")
    run = run_memory_bench(
        crds_dir(),
        entries=args.memory_entries,
        seconds=args.memory_seconds,
        concurrency=args.memory_concurrency,
        sample_every=max(1, args.memory_entries // 20),
    )
    _print_measured(
        f"--memory --memory-entries {args.memory_entries} --memory-seconds "
        f"{args.memory_seconds:g} --memory-concurrency {args.memory_concurrency}"
    )
    print(memory_markdown(run, args.memory_concurrency))
    return 0


def _print_measured(options: str) -> None:
    """The figures' heading: when, on what, how loaded at the end, and the command."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"Measured {now}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end, Python "
        f"{platform.python_version()}, `guestbook-ledger bench webui {options}`.\n"
    )


def main() -> int:
    """Run as ``python -m guestbook_bench.webui_cli [--clients N] [--entries N]``."""
    parser = argparse.ArgumentParser(prog="python -m guestbook_bench.webui_cli")
    register_bench(parser.add_subparsers(dest="bench", required=True))
    args = parser.parse_args(["webui", *sys.argv[1:]])
    try:
        return run_bench_command(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
