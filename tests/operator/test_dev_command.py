"""`guestbook-ledger dev` (what `make demo` runs): its own control plane and kubelet,
PostgreSQL and the Helm chart from one command; kubectl and the web UI against it,
a clean stop on Ctrl-C, and its state kept for the next run."""

from __future__ import annotations

import html
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from chart_release import wait_until
from guestbook_localcluster.kubectl import Kubectl

REPO = Path(__file__).resolve().parents[2]
# Warm caches: under a minute. Source changed since the images' environments were
# built: they are rebuilt first (a few minutes on 2 cores).
START_TIMEOUT = 600.0
WEB_UI = "web UI:"
EXPORT = "export KUBECONFIG="


@dataclass
class Dev:
    """A running `guestbook-ledger dev` and what it printed."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str]
    seen: list[str]
    kubeconfig: Path
    url: str

    def stop(self) -> str:
        """Ctrl-C in its terminal; returns all it printed. Raises AssertionError unless
        it exits 0 in time."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
            raise AssertionError("dev did not stop on Ctrl-C:\n" + self.output()) from None
        time.sleep(0.5)  # let the reader thread take the last lines
        output = self.output()
        assert self.process.returncode == 0, output
        return output

    def output(self) -> str:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return "".join(self.seen)


def start_dev(state: Path) -> Dev:
    """Start `dev` with a free web UI port; returns once it printed its URL and the
    `export KUBECONFIG=` line. Raises AssertionError (having stopped it) otherwise."""
    process = subprocess.Popen(
        [sys.executable, "-m", "guestbook_cli", "dev", "--state-dir", str(state),
         "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    output = process.stdout

    def read() -> None:  # a thread: a pipe's lines arrive in bursts
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    url = ""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=1.0).strip()
        except queue.Empty:
            continue
        seen.append(line + "\n")
        if line.startswith(WEB_UI):
            url = line.removeprefix(WEB_UI).strip()
        if line.startswith(EXPORT):
            return Dev(process, lines, seen, Path(line.removeprefix(EXPORT)), url)
    # Ctrl-C, not SIGKILL: dev must stop the cluster and PostgreSQL it started.
    dev = Dev(process, lines, seen, Path(), url)
    if process.poll() is None:
        dev.stop()
    raise AssertionError("dev did not print its export line:\n" + dev.output())


@pytest.mark.timeout(2 * START_TIMEOUT + 300)
def test_dev_runs_the_system_and_keeps_state_between_runs() -> None:
    # Not pytest's tmp_path: its pods and PostgreSQL may run as other users.
    state = Path(tempfile.mkdtemp(prefix="guestbook-dev-"))
    try:
        dev = start_dev(state)
        try:
            assert dev.url.startswith("http://127.0.0.1:"), dev.output()
            kubectl = Kubectl(dev.kubeconfig, state / "test-cache")
            kubectl("apply", "-f", str(REPO / "examples" / "entry.yaml"))
            kubectl(
                "wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/hello-world",
                "--timeout=120s",
            )  # fmt: skip
            table = kubectl("get", "guestbookentries")
            leaf_hash = kubectl("get", "gbe", "hello-world", "-o", "jsonpath={.status.leafHash}")
            assert leaf_hash in table and "Sealed" in table
            # The operator runs as the chart's pod, not as a process of dev's own.
            pods = kubectl("get", "pods", "-l", "app.kubernetes.io/component=operator")
            assert "guestbook-ledger-operator-" in pods and "Running" in pods

            # The page shows the entry, sealed, once the web UI's watch has it.
            message = "Hello from kubectl! This message is now a leaf of a Merkle tree."

            def page() -> str | None:
                response = httpx.get(dev.url, timeout=30)
                text = html.unescape(response.text)
                return text if response.status_code == 200 and leaf_hash in text else None

            assert message in wait_until(page, timeout=60, what="the entry on the web UI")
        finally:
            output = dev.stop()
        assert "Stopped." in output

        # A second run continues the same ledger: the entry and its hash are still there.
        dev = start_dev(state)
        try:
            kubectl = Kubectl(dev.kubeconfig, state / "test-cache-2")
            again = kubectl("get", "gbe", "hello-world", "-o", "jsonpath={.status.leafHash}")
            assert again == leaf_hash
            size = kubectl("get", "ledger", "guestbook", "-o", "jsonpath={.status.treeSize}")
            assert size == "1"
        finally:
            dev.stop()
    finally:
        shutil.rmtree(state, ignore_errors=True)
