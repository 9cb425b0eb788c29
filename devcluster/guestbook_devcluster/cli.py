"""`guestbook-ledger devcluster`: run the local Kubernetes API server until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

DEFAULT_PORT = 6443
DEFAULT_KUBECONFIG = Path(".dev/kubeconfig")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "devcluster",
        help="run the local Kubernetes API server (for development and tests)",
        description=(
            "Serve the Kubernetes API on loopback (plain HTTP, token auth) and write a "
            "kubeconfig that kubectl, Kopf, the kubernetes client and pykube-ng use "
            "unchanged. Runs until Ctrl-C."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=DEFAULT_KUBECONFIG,
        help=f"where to write the kubeconfig (default: {DEFAULT_KUBECONFIG})",
    )
    # Options of the job runner, persistence and RBAC (issue 4).
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="keep objects in DIR across restarts (SQLite)"
    )
    parser.add_argument(
        "--no-job-runner",
        action="store_true",
        help="do not run the pods of Jobs as local processes",
    )
    parser.add_argument(
        "--pod-start-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="simulated scheduling and image start delay of each pod (default: 0)",
    )
    parser.add_argument(
        "--authorization",
        choices=("AlwaysAllow", "rbac"),
        default="AlwaysAllow",
        help="enforce RBAC for bearer tokens (default: AlwaysAllow)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; returns 0 after a clean stop."""
    from guestbook_ledger.cli import UsageError

    from guestbook_devcluster.cluster import DevCluster

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    if args.pod_start_delay < 0:
        raise UsageError("--pod-start-delay must be zero or more seconds")
    cluster = DevCluster(
        port=args.port,
        host=args.host,
        data_dir=args.data_dir,
        job_runner=not args.no_job_runner,
        pod_start_delay=args.pod_start_delay,
        authorization=args.authorization,
    )
    try:
        cluster.start()
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror}); pick another --port"
        ) from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        path = cluster.write_kubeconfig(args.kubeconfig).resolve()
        print(f"Local Kubernetes API listening on {cluster.url}", flush=True)
        print(f"kubeconfig written to {path}; use it with:", flush=True)
        print(f"export KUBECONFIG={path}", flush=True)
        print("Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        cluster.stop()
    print("Stopped.", file=sys.stderr)
    return 0
