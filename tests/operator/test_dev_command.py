"""`guestbook-ledger dev` (what `make demo` runs): the whole system from one
command, kubectl against it, a clean stop on Ctrl-C, and its state kept for
the next run."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from guestbook_devcluster.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]


def start_dev(state: Path) -> tuple[subprocess.Popen[str], Path, queue.Queue[str]]:
    """Start `dev`; return it and the kubeconfig path from its `export` line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "guestbook_ledger", "dev", "--state-dir", str(state),
         "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    # A thread reads the output: a pipe's lines arrive in bursts.
    output = process.stdout

    def read() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 180
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        seen.append(line)
        if line.strip().startswith("export KUBECONFIG="):
            return process, Path(line.strip().split("=", 1)[1]), lines
    # Ctrl-C, not SIGKILL: dev must stop PostgreSQL and the operator it started.
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        process.kill()
    raise AssertionError("dev did not print its export line:\n" + "".join(seen))


def stop_dev(process: subprocess.Popen[str], lines: queue.Queue[str]) -> str:
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in its terminal
    process.wait(timeout=90)
    time.sleep(0.5)  # let the reader thread take the last lines
    output = "".join(lines.get() for _ in range(lines.qsize()))
    assert process.returncode == 0, output
    return output


def test_dev_runs_the_system_and_keeps_state_between_runs() -> None:
    state = Path(tempfile.mkdtemp(prefix="guestbook-dev-"))
    try:
        process, kubeconfig, lines = start_dev(state)
        try:
            kubectl = Kubectl(kubeconfig, state / "test-cache")
            kubectl("apply", "-f", str(REPO / "examples" / "entry.yaml"))
            kubectl(
                "wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/hello-world",
                "--timeout=120s",
            )  # fmt: skip
            table = kubectl("get", "guestbookentries")
            leaf_hash = kubectl("get", "gbe", "hello-world", "-o", "jsonpath={.status.leafHash}")
            assert leaf_hash in table and "Sealed" in table
        finally:
            output = stop_dev(process, lines)
        assert "Stopped." in output

        # A second run continues the same ledger: the entry and its hash are still there.
        process, kubeconfig, lines = start_dev(state)
        try:
            kubectl = Kubectl(kubeconfig, state / "test-cache-2")
            again = kubectl("get", "gbe", "hello-world", "-o", "jsonpath={.status.leafHash}")
            assert again == leaf_hash
            size = kubectl("get", "ledger", "guestbook", "-o", "jsonpath={.status.treeSize}")
            assert size == "1"
        finally:
            stop_dev(process, lines)
    finally:
        shutil.rmtree(state, ignore_errors=True)
