"""`guestbook-ledger devcluster` with the job runner, --data-dir and RBAC options."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from guestbook_devcluster.kubectl import Kubectl
from guestbook_devcluster.server_process import devcluster_command
from job_manifests import apply, get_json, python_job


@contextmanager
def _server(tmp_path: Path, *options: str) -> Iterator[tuple[Kubectl, list[str]]]:
    """Run the CLI; yields kubectl for it and, after it stopped, its stderr lines."""
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        devcluster_command(kubeconfig, *options),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Local Kubernetes API listening on http://127.0.0.1:"), first
        yield Kubectl(kubeconfig, tmp_path / "cache"), errors
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        errors.extend(stderr.splitlines())
    assert process.returncode == 0


def test_the_cli_runs_jobs_keeps_them_in_its_data_dir_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative --data-dir, as in a checkout
    data = tmp_path / "data"
    with _server(tmp_path, "--data-dir", "data", "--pod-start-delay", "0.2") as (kubectl, err):
        code = "from kubernetes import config; config.load_config(); print('from the cli')"
        apply(kubectl, python_job("cli", code))
        kubectl("wait", "--for=condition=complete", "job/cli", "--timeout=60s")
        assert kubectl("logs", "job/cli") == "from the cli\n"
    assert not [line for line in err if "Traceback" in line]
    assert (data / "objects.sqlite3").exists()

    with _server(tmp_path, "--data-dir", str(data), "--no-job-runner") as (kubectl, err):
        job = get_json(kubectl, "job", "cli")
        assert job["status"]["succeeded"] == 1
        assert kubectl("logs", "job/cli") == ""  # no job runner, no log source
    assert not [line for line in err if "Traceback" in line]


def test_rbac_mode_starts_with_the_anonymous_admin_binding(tmp_path: Path) -> None:
    with _server(tmp_path, "--authorization", "rbac") as (kubectl, _):
        bindings = get_json(kubectl, "clusterrolebindings")["items"]
        assert [b["metadata"]["name"] for b in bindings] == ["devcluster-anonymous-admin"]


def test_a_negative_start_delay_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guestbook_ledger", "devcluster", "--pod-start-delay", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--pod-start-delay must be zero or more seconds" in result.stderr
    assert "Traceback" not in result.stderr
