"""`guestbook-ledger bench …`: benchmark scripts (never timed tests).

`bench ledger` measures the ledger core: the root of 10⁶ leaves in memory
against the `merkle` and `pymerkle` packages, and appends and proofs against
a stored ledger at growing sizes; it prints a Markdown section for
docs/benchmarks.md on stdout and its progress on stderr.

The other benchmarks, one per component, are modules of this package too
(decision 0143): each listed in BENCHES exposes
``register_bench(bench_subparsers)`` and is imported only when its benchmark
runs.
"""

from __future__ import annotations

import argparse
from itertools import pairwise

from guestbook_cli.dispatch import LazySubcommands, Subcommand
from guestbook_ledger.usage import UsageError


def _bench(name: str, module: str, help: str) -> Subcommand:
    return Subcommand(name, f"guestbook_bench.{module}", help, hook="register_bench")


BENCHES: tuple[Subcommand, ...] = (
    _bench("e2e", "e2e_cli", "the whole system: throughput, latency, pool scaling, naive baseline"),
    _bench(
        "monitor",
        "monitor",
        "guestbook-ledger monitor on 10^6 leaves: first run, no change, growth",
    ),
    _bench("tiles", "tiles", "tlog-tiles read API at 10^6 leaves: tiles/s, checkpoints/s, p50/p99"),
    _bench("webui", "webui_cli", "time from a new entry to every open page; sign and page timings"),
    _bench("witness", "witness", "tlog-witness add-checkpoint: cosignatures/s and p50/p99 latency"),
)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
TARGET_ROOT_S = 1.0
TARGET_APPEND_MS = 100.0
TARGET_PROOF_MS = 5.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench", help="run a benchmark and print its figures as Markdown"
    )
    benches = parser.add_subparsers(
        dest="bench", metavar="BENCHMARK", required=True, action=LazySubcommands
    )
    assert isinstance(benches, LazySubcommands)
    ledger = benches.add_parser(
        "ledger",
        help="root of 10⁶ leaves in memory; appends and proofs on stored ledgers",
        description=(
            "Measure the ledger core and print a Markdown section for docs/benchmarks.md. "
            "Without --dsn it starts a throwaway embedded PostgreSQL (fsync on)."
        ),
    )
    ledger.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        metavar="N",
        help="stored ledger sizes to measure at, ascending (default: 10000 100000 1000000)",
    )
    ledger.add_argument(
        "--memory-leaves",
        type=int,
        default=1_000_000,
        metavar="N",
        help="leaves for the in-memory root comparison (default: 1000000)",
    )
    ledger.add_argument(
        "--dsn",
        help="a superuser DSN of an empty database to use instead of an embedded server",
    )
    ledger.set_defaults(func=run_ledger)
    for bench in BENCHES:
        benches.add_lazy(bench)


def run_ledger(args: argparse.Namespace) -> int:
    sizes: list[int] = args.sizes
    batch, appends = 1000, 5
    if any(size < 1 for size in sizes) or args.memory_leaves < 2:
        raise UsageError("sizes must be at least 1 and --memory-leaves at least 2.")
    if any(later - earlier < batch * appends for earlier, later in pairwise(sizes)):
        raise UsageError(
            f"sizes must ascend by at least {batch * appends} "
            f"(each measurement appends {appends} batches of {batch})."
        )
    if max(sizes) > 10_000_000:
        raise UsageError("sizes above 10,000,000 would take hours to load; choose smaller ones.")

    import psycopg2
    from guestbook_ledger.store.errors import StoreError
    from guestbook_localcluster.postgres import EmbeddedPostgresError

    from guestbook_bench.environment import describe_machine
    from guestbook_bench.memory import bench_root
    from guestbook_bench.report import ledger_markdown
    from guestbook_bench.stored import bench_audit, bench_stored
    from guestbook_bench.throwaway import bench_database, progress

    progress(f"root of {args.memory_leaves:,} leaves in memory (ours, merkle, pymerkle)…")
    memory = bench_root(args.memory_leaves)
    try:
        with bench_database(args.dsn, progress=progress) as (conn, server_settings):
            stored = bench_stored(conn, sizes, progress=progress, batch=batch, appends=appends)
            audit = bench_audit(conn, progress)
    except (StoreError, EmbeddedPostgresError) as exc:
        raise UsageError(str(exc)) from None
    except psycopg2.Error as exc:
        reason = " ".join(str(exc).split())
        raise UsageError(
            f"The benchmark database failed ({reason}); the bulk load needs a superuser DSN "
            "of an empty database."
        ) from None
    print(
        ledger_markdown(
            machine=describe_machine(),
            server=server_settings,
            memory=memory,
            stored=stored,
            audit=audit,
            batch=batch,
            targets=(TARGET_ROOT_S, TARGET_APPEND_MS, TARGET_PROOF_MS),
        )
    )
    return 0
