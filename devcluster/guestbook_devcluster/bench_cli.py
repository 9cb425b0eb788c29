"""`guestbook-ledger bench devcluster` (registered by guestbook_ledger.bench_cli)."""

from __future__ import annotations

import argparse


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = benches.add_parser(
        "devcluster",
        help="local Kubernetes API: GETs/s, status PATCHes/s, watch latency, memory",
        description=(
            "Measure the local Kubernetes API server and print a Markdown section for "
            "docs/benchmarks.md."
        ),
    )
    parser.add_argument(
        "--objects",
        type=int,
        default=100_000,
        metavar="N",
        help="objects to store (default: 100000)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=20_000,
        metavar="N",
        help="GETs and PATCHes to send each (default: 20000)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guestbook_ledger.cli import UsageError

    from guestbook_devcluster.bench import run_bench

    if args.objects < 1 or args.requests < 1:
        raise UsageError("--objects and --requests must be at least 1")
    print(run_bench(args.objects, args.requests))
    return 0
