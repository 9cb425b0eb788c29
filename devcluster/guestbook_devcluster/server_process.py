"""Run `guestbook-ledger devcluster` as a process of its own (as a real API server
is), for benchmarks that must not share an interpreter lock with their load."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerProcess:
    url: str
    pid: int
    kubeconfig: Path


def devcluster_command(kubeconfig: Path, *options: str) -> list[str]:
    """The command line of `guestbook-ledger devcluster` on a free loopback port,
    writing its kubeconfig to ``kubeconfig``, with extra CLI ``options``."""
    return [
        sys.executable,
        "-m",
        "guestbook_ledger",
        "devcluster",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
        *options,
    ]


@contextmanager
def devcluster_process(*options: str, stop_timeout: float = 60) -> Iterator[ServerProcess]:
    """Start the local API server on a free loopback port with extra CLI `options`
    (e.g. ``--no-job-runner``); stop it (SIGTERM) when the block ends.

    Raises RuntimeError when the server does not report where it listens.
    """
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        server = subprocess.Popen(
            devcluster_command(kubeconfig, *options), stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            url = line.strip().rsplit(" ", 1)[-1]
            if not url.startswith("http://"):
                raise RuntimeError(f"the local API server did not start: {line!r}")
            yield ServerProcess(url=url, pid=server.pid, kubeconfig=kubeconfig)
        finally:
            server.terminate()
            server.wait(stop_timeout)
