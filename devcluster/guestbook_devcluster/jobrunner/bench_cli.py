"""`guestbook-ledger bench jobs` (registered by guestbook_ledger.bench_cli)."""

from __future__ import annotations

import argparse


def register_bench(benches: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = benches.add_parser(
        "jobs",
        help="job runner: pod start overhead, API throughput with 50 running pods",
        description=(
            "Measure the job runner of the local Kubernetes API and print a Markdown "
            "section for docs/benchmarks.md."
        ),
    )
    parser.add_argument(
        "--jobs", type=int, default=30, metavar="N", help="Jobs to time one by one (default: 30)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=20000,
        metavar="N",
        help="GETs per throughput measurement (default: 20000)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from guestbook_ledger.cli import UsageError

    from guestbook_devcluster.jobrunner.bench import run_bench

    if args.jobs < 1 or args.requests < 1:
        raise UsageError("--jobs and --requests must be at least 1")
    print(run_bench(args.jobs, args.requests))
    return 0
