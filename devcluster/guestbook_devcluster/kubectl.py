"""Run the real ``kubectl`` against a cluster (tests and scripts).

Each ``Kubectl`` has its own kubeconfig and discovery cache directory, so
runs never read another cluster's cached discovery.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class KubectlError(AssertionError):
    """kubectl exited non-zero where success was expected (message has its output)."""


def kubectl_binary() -> str:
    """The kubectl on PATH (or /usr/bin/kubectl); raises FileNotFoundError if absent."""
    found = shutil.which("kubectl") or (
        "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
    )
    if found is None:
        raise FileNotFoundError("kubectl is not installed: run `make tools` (scripts/ensure-tools)")
    return found


@dataclass
class Kubectl:
    """kubectl bound to one kubeconfig; ``run`` returns the completed process."""

    kubeconfig: Path
    cache_dir: Path
    timeout: float = 60.0

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS``; raises KubectlError when ``check`` and it fails."""
        command = [
            kubectl_binary(),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.cache_dir}",
            *args,
        ]
        result = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout or self.timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(
                f"kubectl {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def __call__(self, *args: str, input: str | None = None) -> str:
        """Run ``kubectl ARGS`` expecting success; returns its standard output."""
        return self.run(*args, input=input).stdout
