"""`guestbook-ledger dev`: the whole system locally, until Ctrl-C.

State survives restarts under the state folder: PostgreSQL's data in
``postgres/``, the API server's objects in ``cluster/``, pod files in ``pods/``.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import threading
from pathlib import Path

import psycopg2
from guestbook_ledger.cli import UsageError
from guestbook_ledger.store.embedded import EmbeddedPostgres, EmbeddedPostgresError, start_postgres

from guestbook_operator.localsystem import create_ledger, ledger_manifest, start_local_system

DATABASE = "guestbook"


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


def _web_port(wanted: int) -> int:
    """``wanted`` if free on 127.0.0.1, else 0 (any free port)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", wanted))
        except OSError:
            return 0
    return wanted


def run_dev(state_dir: str, *, port: int = 0, web_port: int = 8080) -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    state = Path(state_dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _s, _f: stop.set())
    print(f"Starting PostgreSQL (data in {state / 'postgres'}) …", flush=True)
    try:
        postgres = start_postgres(state / "postgres")
    except EmbeddedPostgresError as exc:
        raise UsageError(str(exc)) from None
    try:
        dsn = ensure_database(postgres, DATABASE)
        print("Starting the local Kubernetes API and its job runner …", flush=True)
        try:
            system = start_local_system(
                state,
                dsn,
                port=port,
                persistent=True,
                operator_env={"GUESTBOOK_METRICS_PORT": "0"},
            )
        except OSError as exc:
            raise UsageError(
                f"Cannot listen on port {port} ({exc}); pick another --port."
            ) from None
        try:
            create_ledger(system.kubeconfig, ledger_manifest())
            system.start_operator()
            web = ""
            if importlib.util.find_spec("guestbook_webui") is not None:
                web = system.start_webui(_web_port(web_port))
            print(
                "\nGuestbook Ledger is running.\n"
                + (f"  web UI:         {web}\n" if web else "")
                + f"  Kubernetes API: {system.api_url}\n"
                f"  operator log:   {system.operator_log}\n\n"
                "In another terminal:\n"
                f"  export KUBECONFIG={system.kubeconfig}\n"
                "  kubectl apply -f examples/entry.yaml\n"
                "  kubectl get guestbookentries\n"
                "  kubectl get ledgers\n\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
            while not stop.wait(0.5):
                operator = system.operator
                if operator is not None and operator.poll() is not None:
                    print(
                        f"The operator exited with status {operator.returncode}; "
                        f"see {system.operator_log}. Stopping.",
                        flush=True,
                    )
                    return 1
        finally:
            print("\nStopping …", flush=True)
            system.stop()
    finally:
        postgres.stop()
    print("Stopped.", flush=True)
    return 0
