"""``guestbook-ledger cluster``: build the upstream binaries, run a local cluster."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .controlplane import ControlPlane, ControlPlaneError
from .upstream import BuildError, ensure_binaries


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cluster",
        help="build and run the local Kubernetes control plane (upstream binaries)",
        description=(
            "The real Kubernetes control plane on this machine: etcd, kube-apiserver, "
            "kube-controller-manager and kube-scheduler built from their Go modules."
        ),
    )
    commands = parser.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    build = commands.add_parser(
        "build", help="build the pinned binaries into the cache (once; reused afterwards)"
    )
    build.set_defaults(func=_build)
    up = commands.add_parser("up", help="run the control plane until Ctrl-C")
    up.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".dev/cluster"),
        help="where the cluster keeps its state (kept across restarts; default .dev/cluster)",
    )
    up.add_argument(
        "--port", type=int, default=0, help="the API server's port on first start (default: free)"
    )
    up.set_defaults(func=_up)


def register_dev(subparsers: Any) -> None:
    dev: argparse.ArgumentParser = subparsers.add_parser(
        "dev",
        help="run the whole system locally (Kubernetes, PostgreSQL, the Helm chart)",
        description=(
            "Start the Kubernetes control plane (upstream binaries) with a process kubelet, "
            "PostgreSQL, and install the Helm chart: the operator and the web UI run as the "
            "chart's pods. Ctrl-C stops everything; state is kept for the next run."
        ),
    )
    dev.add_argument(
        "--state-dir", type=Path, default=Path(".dev"), help="where state is kept (default .dev)"
    )
    dev.add_argument(
        "--port", type=int, default=8080, help="the web UI's port on 127.0.0.1 (default 8080)"
    )
    dev.add_argument(
        "--api-port",
        type=int,
        default=0,
        help="the API server's port on first start (default: free)",
    )
    dev.set_defaults(func=_dev)


def _dev(args: argparse.Namespace) -> int:
    from .dev import DevError, run_dev

    try:
        return run_dev(args.state_dir, web_port=args.port, api_port=args.api_port)
    except DevError as exc:
        print(f"guestbook-ledger dev: {exc}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    del args
    try:
        binaries = ensure_binaries()
    except BuildError as exc:
        print(f"guestbook-ledger cluster build: {exc}", file=sys.stderr)
        return 1
    print(f"Binaries ready in {binaries.folder}")
    return 0


def _up(args: argparse.Namespace) -> int:
    try:
        binaries = ensure_binaries()
        control_plane = ControlPlane(args.data_dir, binaries, apiserver_port=args.port)
        control_plane.start()
    except (BuildError, ControlPlaneError) as exc:
        print(f"guestbook-ledger cluster up: {exc}", file=sys.stderr)
        return 1
    print(f"export KUBECONFIG={control_plane.admin_kubeconfig}")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the control plane ...", file=sys.stderr)
        control_plane.stop()
    return 0
