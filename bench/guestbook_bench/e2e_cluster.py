"""The system `guestbook-ledger bench e2e` measures: the real control plane, the
process kubelet as a process of its own, and the project's Helm chart.

What `make demo` runs (``guestbook_localcluster.dev``), with two differences a
benchmark needs: the process kubelet runs as its own process (``python -m
guestbook_localcluster.kubelet``) rather than as a thread of the caller, so
that its CPU is counted apart from the benchmark's client and the two do not
share an interpreter lock; and the web UI is left out (nothing measured uses
it). The operator is the chart's Deployment pod, its worker Jobs run through
the real Job controller, every server listens on loopback only.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guestbook_localcluster.cluster import LocalCluster
from guestbook_localcluster.controlplane import ControlPlaneError
from guestbook_localcluster.images import ImageCatalog
from guestbook_localcluster.processes import ChildProcess
from guestbook_localcluster.release import install_or_upgrade

NAMESPACE = "default"
RELEASE = "guestbook-ledger"  # the chart's full name is then the release name
OPERATOR_DEPLOYMENT = f"{RELEASE}-operator"
OPERATOR_SELECTOR = "app.kubernetes.io/component=operator"
# The control plane's processes, in the report's order.
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


class BenchSystemError(Exception):
    """The measured system did not start or lost a part; the message says which."""


def chart_values(
    dsn: str, ledger: str, spec: dict[str, Any], operator_env: dict[str, str]
) -> dict[str, Any]:
    """The chart's values for a benchmark run: the database, the benchmark's Ledger
    with ``spec``, the operator's extra environment, no web UI. The benchmark's
    throwaway database has one role, given to the workers too."""
    return {
        "database": {"dsn": dsn},
        "worker": {"database": {"dsn": dsn}},
        "operator": {"env": dict(operator_env)},
        "webui": {"enabled": False},
        "ledger": {"create": True, "name": ledger, "spec": dict(spec)},
    }


def container_pid(pod: dict[str, Any]) -> int | None:
    """The PID in the first container's ``process://<pid>`` containerID (the process
    kubelet's), or None while it has none (not started, or another runtime)."""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        container_id = str(status.get("containerID") or "")
        if container_id.startswith("process://") and "running" in (status.get("state") or {}):
            pid = container_id.removeprefix("process://")
            if pid.isdigit():
                return int(pid)
    return None


@dataclass
class BenchSystem:
    """A started system; its processes, by the names the report uses."""

    cluster: LocalCluster
    kubelet: ChildProcess
    dsn: str
    postgres_pid: int | None

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    def control_plane_pids(self) -> dict[str, int | None]:
        """Each control-plane process's PID (None: not running)."""
        processes = self.cluster.control_plane.processes
        pids: dict[str, int | None] = {}
        for name in CONTROL_PLANE:
            process = processes.get(name)
            popen = process.popen if process is not None and process.running else None
            pids[name] = popen.pid if popen is not None else None
        return pids

    @property
    def kubelet_pid(self) -> int | None:
        popen = self.kubelet.popen
        return popen.pid if popen is not None and self.kubelet.running else None

    def operator_pid(self) -> int | None:
        """The running operator pod's process (None: no operator pod is running)."""
        pods = self.cluster.get(
            f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector={OPERATOR_SELECTOR}"
        )
        for pod in (pods or {}).get("items", []):
            if (pod.get("metadata") or {}).get("deletionTimestamp"):
                continue
            pid = container_pid(pod)
            if pid is not None:
                return pid
        return None

    def wait_operator_pid(self, timeout: float = 120.0) -> int:
        deadline = time.monotonic() + timeout
        while (pid := self.operator_pid()) is None:
            if time.monotonic() > deadline:
                raise BenchSystemError(
                    f"The operator pod did not run within {timeout:.0f} s; see "
                    f"{self.cluster.data_dir / 'kubelet'} and `kubectl describe pod`."
                )
            time.sleep(0.2)
        return pid


def _start_kubelet(cluster: LocalCluster, pod_start_delay: float) -> ChildProcess:
    plane = cluster.control_plane
    kubelet = ChildProcess(
        "kubelet",
        [
            sys.executable, "-m", "guestbook_localcluster.kubelet",
            "--server", plane.server_url,
            "--pki", str(plane.pki.folder),
            "--state-dir", str(cluster.data_dir / "kubelet"),
            "--port", str(plane.ports.kubelet),
            "--pod-start-delay", str(pod_start_delay),
        ],
        plane.log_of("kubelet"),
    )  # fmt: skip
    kubelet.start()
    try:
        cluster.wait_node_ready(120)
    except ControlPlaneError as exc:
        kubelet.stop()
        raise BenchSystemError(
            f"{exc}\nThe kubelet's log ends with:\n{kubelet.log_tail()}"
        ) from exc
    return kubelet


@contextmanager
def bench_system(
    data_dir: Path,
    dsn: str,
    *,
    postgres_pid: int | None,
    pod_start_delay: float,
    ledger: str,
    ledger_spec: dict[str, Any],
    operator_env: dict[str, str],
    durable: bool,
    progress: Callable[[str], None],
) -> Iterator[BenchSystem]:
    """A fresh cluster in ``data_dir`` with the chart installed into ``default``; yields
    once the operator pod runs. Stops everything it started on leaving.

    ``durable`` runs etcd with fsync (as any cluster). Raises BenchSystemError,
    ControlPlaneError, ReleaseError or ImageNotAvailable when a part does not start.
    """
    images = ImageCatalog.project()
    images.prepare(progress)
    cluster = LocalCluster(
        data_dir, durable=durable, pod_start_delay=pod_start_delay, images=images,
        progress=progress,
    )  # fmt: skip
    cluster.control_plane.start()
    try:
        kubelet = _start_kubelet(cluster, pod_start_delay)
        try:
            values = chart_values(dsn, ledger, ledger_spec, operator_env)
            install_or_upgrade(cluster.kubeconfig, NAMESPACE, RELEASE, values)
            system = BenchSystem(cluster, kubelet, dsn, postgres_pid)
            system.wait_operator_pid()
            yield system
        finally:
            kubelet.stop(timeout=30)
    finally:
        cluster.control_plane.stop()
