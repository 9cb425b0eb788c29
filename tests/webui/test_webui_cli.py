"""`guestbook-ledger webui`: serves the UI, and refuses bad settings with one sentence."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from guestbook_localcluster.kubectl import Kubectl
from webui_server import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_settings_exit_2_with_one_sentence(tmp_path: Path) -> None:
    bad_namespace = run_cli("webui", "--namespace", "Not_Valid", "--kubeconfig", "x")
    assert bad_namespace.returncode == 2
    assert "not a Kubernetes namespace name" in bad_namespace.stderr
    assert "Traceback" not in bad_namespace.stderr

    missing = run_cli("webui", "--kubeconfig", str(tmp_path / "absent"))
    assert missing.returncode == 2
    assert "Cannot load the Kubernetes configuration" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_command_serves_the_guestbook(
    kubeconfig: Path, crds: Kubectl, kubectl: Kubectl, namespace: str, ledger_dsn: str
) -> None:
    port = free_port()
    env = {**os.environ, "GUESTBOOK_DSN": ledger_dsn, "GUESTBOOK_NAMESPACE": namespace}
    process = subprocess.Popen(
        [sys.executable, "-m", "guestbook_cli", "webui", "--port", str(port),
         "--kubeconfig", str(kubeconfig)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, "the web UI exited"
                return False

        wait_until(ready, timeout=60, what="the web UI to be ready")
        created = httpx.post(f"{base}/entries", json={"message": "from the CLI"}, timeout=30)
        assert created.status_code == 201
        assert "from the CLI" in kubectl("get", "gbe", "-o", "wide")
        assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    # uvicorn shuts down in order, then re-raises SIGTERM so the exit status says why.
    assert process.returncode in (0, -signal.SIGTERM), output
    assert b"Application shutdown complete" in output
