"""`guestbook-ledger operator | worker | audit-job`."""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from guestbook_ledger.usage import UsageError

if TYPE_CHECKING:
    from guestbook_operator.config import PodConfig


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    op = subparsers.add_parser(
        "operator",
        help="run the Kopf operator that manages Ledgers and GuestbookEntries",
        description="Run the operator. Settings come from GUESTBOOK_* environment variables "
        "(GUESTBOOK_DSN is required); the cluster from KUBECONFIG or the pod's service account.",
    )
    op.add_argument("--namespace", action="append", default=[], help="watch only this namespace")
    op.add_argument(
        "--peering",
        default="",
        help="Kopf peering name: replicas sharing it elect one active operator "
        "(needs crds/kopf-peering.yaml); default: standalone",
    )
    op.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority; the highest live replica is active (default: random)",
    )
    op.add_argument(
        "--liveness", default="", help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    op.add_argument("--verbose", action="store_true", help="log each handler")
    op.set_defaults(func=run_operator)

    worker = subparsers.add_parser(
        "worker",
        help="claim, hash and seal a ledger's pending entries (what worker Jobs run)",
        description="Seal pending entries until none arrive for --idle-seconds. Reads "
        "GUESTBOOK_DSN and the Ed25519 key in GUESTBOOK_SIGNING_KEY (PEM).",
    )
    worker.add_argument("--ledger", required=True, metavar="NAMESPACE/NAME")
    worker.add_argument("--batch-size", type=int, default=1000, metavar="N")
    worker.add_argument("--max-wait", type=float, default=0.2, metavar="SECONDS")
    worker.add_argument("--idle-seconds", type=float, default=10.0, metavar="SECONDS")
    worker.set_defaults(func=run_worker_command)

    audit = subparsers.add_parser(
        "audit-job",
        help="audit a ledger and report into its status (what audit Jobs run)",
        description="Recompute the ledger, compare the entry resources with their leaves, "
        "write status.lastAudit and the Verified condition, post a Warning event per "
        "mismatch. Reads GUESTBOOK_DSN.",
    )
    audit.add_argument("--ledger", required=True, metavar="NAMESPACE/NAME")
    audit.set_defaults(func=run_audit_command)


def _ledger_arg(text: str) -> str:
    from guestbook_ledger.format.names import parse_ledger_name

    try:
        parse_ledger_name(text)
    except ValueError as exc:
        raise UsageError(f"--ledger: {exc}") from None
    return text


def _pod_config(*, signing_key: bool) -> PodConfig:
    from guestbook_operator.config import ConfigError, load_pod_config

    try:
        return load_pod_config(signing_key=signing_key)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


class _QuietTimers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timer ")


def run_operator(args: argparse.Namespace) -> int:
    from guestbook_operator.config import ConfigError, load_config

    try:
        load_config()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    import kopf

    import guestbook_operator.handlers  # noqa: F401  (registers the handlers)

    kopf.configure(verbose=args.verbose)
    if not args.verbose:
        # Timers succeed every few seconds per Ledger; their log lines say nothing new.
        logging.getLogger("kopf.objects").addFilter(_QuietTimers())
    priority = args.priority
    if args.peering:
        from guestbook_operator.peering import ensure_peering

        ensure_peering(args.peering, args.namespace)
        # Equal priorities make Kopf pause every replica; distinct ones elect one.
        priority = priority if priority is not None else random.randint(1, 1_000_000)
    kopf.run(
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        standalone=not args.peering,
        peering_name=args.peering or None,
        priority=priority or 0,
        liveness_endpoint=args.liveness or None,
        # Read by the entry watch (handlers/entries.py), which Kopf does not run.
        memo=kopf.Memo(namespaces=list(args.namespace), standalone=not args.peering),
    )
    return 0


def run_worker_command(args: argparse.Namespace) -> int:
    from guestbook_ledger.format.errors import KeyFormatError
    from guestbook_ledger.format.sth import load_private_key_pem
    from guestbook_ledger.store.schema import connect

    from guestbook_operator.kube import load_kube
    from guestbook_operator.worker import WorkerSettings, run_worker

    ledger = _ledger_arg(args.ledger)
    if args.batch_size < 1 or args.max_wait < 0 or args.idle_seconds < 0:
        raise UsageError("--batch-size must be at least 1 and the times not negative.")
    pod = _pod_config(signing_key=True)
    try:
        signer = load_private_key_pem(pod.signing_key_pem.encode("utf-8"))
    except KeyFormatError as exc:
        raise UsageError(f"GUESTBOOK_SIGNING_KEY: {exc}") from None
    _logging()
    stop = _stop_on_signals()
    kube = load_kube()
    try:
        # No migrations: the operator applied them before it made any Job, and a
        # worker role has no right to change the schema (decision 0130).
        stats = run_worker(
            lambda: connect(pod.dsn),
            kube,
            signer,
            WorkerSettings(ledger, args.batch_size, args.max_wait, args.idle_seconds),
            stop=stop,
        )
    finally:
        kube.close()
    logging.getLogger("guestbook.worker").info(
        "done: %d entries sealed in %d batches", stats.sealed, stats.batches
    )
    return 0


def run_audit_command(args: argparse.Namespace) -> int:
    from guestbook_ledger.store.schema import connect

    from guestbook_operator.audit_job import publish_audit, run_audit
    from guestbook_operator.kube import load_kube

    ledger = _ledger_arg(args.ledger)
    pod = _pod_config(signing_key=False)
    _logging()
    conn = connect(pod.dsn)  # as the worker: the operator migrated the schema
    kube = load_kube()
    try:
        outcome = run_audit(conn, kube, ledger)
        publish_audit(kube, ledger, outcome, pod.job_name)
    finally:
        kube.close()
        conn.close()
    for problem in outcome.problems:
        print(problem.message)
    print(
        f"{ledger}: {'verified' if outcome.verified else 'NOT verified'}, "
        f"{outcome.tree_size} entries, {len(outcome.problems)} mismatches"
    )
    return 0
