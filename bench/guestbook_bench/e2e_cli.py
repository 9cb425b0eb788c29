"""`guestbook-ledger bench e2e` (registered by guestbook_bench.cli)."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from guestbook_ledger.usage import UsageError


def register_bench(benches: argparse._SubParsersAction[Any]) -> None:
    parser = benches.add_parser(
        "e2e",
        help="the whole system: throughput, latency, pool scaling, naive baseline",
        description="Per pod start delay, start a fresh local cluster (upstream control "
        "plane, process kubelet) and helm-install the chart, create entries through the API "
        "and measure; prints a Markdown section for docs/benchmarks.md on stdout.",
    )
    parser.add_argument(
        "--pod-start-delay",
        type=float,
        nargs="+",
        default=[0.0, 2.0],
        metavar="SECONDS",
        help="simulated pod start delays to measure at (default: 0 2)",
    )
    parser.add_argument("--burst", type=int, default=3000, help="entries in the burst")
    parser.add_argument("--rate", type=float, default=100.0, help="steady entries per second")
    parser.add_argument("--duration", type=float, default=20.0, help="steady phase seconds")
    parser.add_argument(
        "--sustained",
        type=int,
        default=10_000,
        metavar="N",
        help="entries created as fast as the API accepts them with a warm, full pool; "
        "the sustained throughput is measured over the middle 80%% of their seals "
        "(0: skip; default 10000)",
    )
    parser.add_argument("--naive", type=int, default=30, help="entries for the naive baseline")
    parser.add_argument("--max-workers", type=int, default=4, help="the Ledger's maxWorkers")
    parser.add_argument(
        "--rss-entries",
        type=int,
        default=0,
        metavar="N",
        help="instead of the scenarios: create N entries, wait until they are sealed and "
        "report the operator's RSS with N live entry resources",
    )
    parser.add_argument(
        "--rss-timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="bound of the --rss-entries run; past it, what was reached is reported",
    )
    parser.add_argument(
        "--no-fsync",
        action="store_true",
        help="run etcd without fsync (as the test suite does); default: with fsync",
    )
    parser.set_defaults(func=run_bench_command)


def run_bench_command(args: argparse.Namespace) -> int:
    from guestbook_bench.e2e import run_bench, run_rss_bench
    from guestbook_bench.environment import describe_machine

    if args.burst < 1 or args.rate <= 0 or args.duration <= 0 or args.naive < 0:
        raise UsageError("--burst, --rate and --duration must be positive, --naive not negative.")
    if args.sustained != 0 and args.sustained < 10:
        raise UsageError("--sustained must be 0 (skip) or at least 10 entries.")
    if args.max_workers < 1 or any(d < 0 for d in args.pod_start_delay):
        raise UsageError("--max-workers must be at least 1 and delays not negative.")
    if args.rss_entries < 0 or args.rss_timeout <= 0:
        raise UsageError("--rss-entries must not be negative and --rss-timeout positive.")
    command = "guestbook-ledger " + shlex.join(sys.argv[1:])
    if args.rss_entries:
        print(
            run_rss_bench(
                entries=args.rss_entries,
                max_workers=args.max_workers,
                timeout=args.rss_timeout,
                command=command,
                durable=not args.no_fsync,
                describe_machine=describe_machine,
            )
        )
        return 0
    print(
        run_bench(
            delays=args.pod_start_delay,
            burst=args.burst,
            rate=args.rate,
            duration=args.duration,
            naive=args.naive,
            max_workers=args.max_workers,
            sustained=args.sustained,
            command=command,
            durable=not args.no_fsync,
            describe_machine=describe_machine,
        )
    )
    return 0
