"""`guestbook-ledger bench webui`: live-update latency and page timings (see bench.py)."""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from typing import Any

from guestbook_ledger.cli import UsageError


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
    parser.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    from guestbook_ledger.crd_files import crds_dir

    from guestbook_webui.bench import run_bench

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


def main() -> int:
    """Run as ``python -m guestbook_webui.bench_cli [--clients N] [--entries N]``."""
    parser = argparse.ArgumentParser(prog="python -m guestbook_webui.bench_cli")
    register_bench(parser.add_subparsers(dest="bench", required=True))
    args = parser.parse_args(["webui", *sys.argv[1:]])
    try:
        return run_bench_command(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
