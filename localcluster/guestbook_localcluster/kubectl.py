"""Run the real ``kubectl`` (the one built with the control plane) against a cluster.

Each ``Kubectl`` has its own kubeconfig and discovery cache directory, so
runs never read another cluster's cached discovery.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .upstream import bin_dir


class KubectlError(AssertionError):
    """kubectl exited non-zero where success was expected (message has its output)."""


def kubectl_binary() -> str:
    """The kubectl of the pinned release; raises FileNotFoundError before it is built."""
    path = bin_dir() / "kubectl"
    if not path.exists():
        raise FileNotFoundError(
            f"kubectl is not built yet ({path}): run `guestbook-ledger cluster build`"
        )
    return str(path)


KUBECTL_GRACE_SECONDS = 30.0
"""How much longer than its own ``--timeout`` a kubectl command may run."""

_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def _own_timeout(args: tuple[str, ...]) -> float:
    """The seconds of a ``--timeout=N[s|m|h]`` among ``args`` (a plain number is
    seconds), 0 when there is none or it is not of that form."""
    for arg in args:
        if arg.startswith("--timeout="):
            value = arg.removeprefix("--timeout=")
            unit = _UNIT_SECONDS.get(value[-1:], 0.0)
            number = value[:-1] if unit else value
            try:
                return float(number) * (unit or 1.0)
            except ValueError:
                return 0.0
    return 0.0


@dataclass
class Kubectl:
    """kubectl bound to one kubeconfig; ``run`` returns the completed process."""

    kubeconfig: Path
    cache_dir: Path
    timeout: float = 60.0
    namespace: str | None = None

    def command(self, *args: str) -> list[str]:
        """The argv of ``kubectl ARGS`` with this kubeconfig, cache and namespace."""
        command = [
            kubectl_binary(),
            f"--kubeconfig={self.kubeconfig}",
            f"--cache-dir={self.cache_dir}",
        ]
        if self.namespace:
            command.append(f"--namespace={self.namespace}")
        return [*command, *args]

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl ARGS``; raises KubectlError when ``check`` and it fails.

        Gives up after ``timeout`` seconds, by default ``self.timeout``, or longer
        when the command has a ``--timeout`` of its own (a wait, a delete that
        waits for finalizers): kubectl must be the one that times out, saying why.
        """
        limit = timeout or max(self.timeout, _own_timeout(args) + KUBECTL_GRACE_SECONDS)
        result = subprocess.run(
            self.command(*args),
            input=input,
            capture_output=True,
            text=True,
            timeout=limit,
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
