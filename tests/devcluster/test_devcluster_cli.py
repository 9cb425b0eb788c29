"""`guestbook-ledger devcluster`: prints where it listens, writes a kubeconfig, stops on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from guestbook_devcluster.kubectl import Kubectl
from guestbook_devcluster.server_process import devcluster_command

pytestmark = pytest.mark.timeout(120)


def test_cli_serves_kubectl_and_stops_cleanly(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kc" / "kubeconfig"
    process = subprocess.Popen(
        devcluster_command(kubeconfig, "--no-job-runner"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        listening = process.stdout.readline()
        assert listening.startswith("Local Kubernetes API listening on http://127.0.0.1:")
        process.stdout.readline()
        export = process.stdout.readline().strip()
        assert export == f"export KUBECONFIG={kubeconfig.resolve()}"
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        assert "kube-system" in kubectl("get", "namespaces", "-o", "name")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Stopped." in err and "Traceback" not in err


def test_cli_refuses_a_bad_port(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "guestbook_ledger",
            "devcluster",
            "--port",
            "70000",
            "--kubeconfig",
            str(tmp_path / "kc"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--port must be between 0 and 65535" in result.stderr
