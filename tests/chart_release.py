"""The project's Helm chart installed in a test's namespace: what users install.

The operator runs as the chart's Deployment pod, its worker and audit Jobs
through the real Job controller, the web UI (when enabled) as the chart's
Deployment, each as its own ServiceAccount, on the session's cluster. The
release serves only its own namespace (`operator.watchNamespaces`), so it has
Roles there and nothing cluster-scoped: releases of other tests never meet it.
(A plain module that tests/operator and tests/charts import.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.kubelet import Kubelet
from guestbook_localcluster.release import install_or_upgrade, uninstall
from guestbook_localcluster.waiting import wait_until

RELEASE = "guestbook-ledger"  # the chart's full name is then the release name
LEDGER = "guestbook"
LABEL_COMPONENT = "app.kubernetes.io/component"
# Short intervals so that repair, reconciling and audits happen within a test's patience.
OPERATOR_ENV = {
    "GUESTBOOK_REPAIR_INTERVAL": "2",
    "GUESTBOOK_RECONCILE_INTERVAL": "0.5",
}


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, key by key (as Helm merges values)."""
    result = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def release_values(namespace: str, dsn: str) -> dict[str, Any]:
    """The chart's values in a test: the test's database and namespace, short intervals,
    no Ledger (tests make their own) and no web UI (tests that need it enable it). The
    test's database has one role, which the workers get too, explicitly
    (worker.database.dsn; tests/operator/test_e2e_worker_credentials.py uses a
    worker role with only the workers' grants)."""
    return {
        "database": {"dsn": dsn},
        "worker": {"database": {"dsn": dsn}},
        "operator": {"watchNamespaces": [namespace], "env": dict(OPERATOR_ENV)},
        "ledger": {"create": False},
        "webui": {"enabled": False},
    }


@dataclass
class Release:
    """The chart as release ``guestbook-ledger`` in ``namespace``; see :meth:`install`."""

    namespace: str
    kubeconfig: Path
    kubectl: Kubectl
    kubelet: Kubelet
    dsn: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def ledger_id(self) -> str:
        """The database's name of the test's Ledger ``guestbook``: ``namespace/guestbook``."""
        return f"{self.namespace}/{LEDGER}"

    def account(self, component: str) -> str:
        """The API server's user name of a component's ServiceAccount."""
        return f"system:serviceaccount:{self.namespace}:{RELEASE}-{component}"

    # -- Helm ------------------------------------------------------------------

    def install(self, values: Mapping[str, Any] | None = None) -> None:
        """``helm upgrade --install`` with the test values and ``values`` merged in;
        returns once the Deployments are ready. Raises ReleaseError."""
        self.values = merged(self.values or release_values(self.namespace, self.dsn), values or {})
        install_or_upgrade(self.kubeconfig, self.namespace, RELEASE, self.values, timeout=180)

    def uninstall(self) -> None:
        uninstall(self.kubeconfig, self.namespace, RELEASE)

    # -- the operator ------------------------------------------------------------

    def start_operator(self, **operator: Any) -> None:
        """Install, or upgrade with these ``operator.*`` values (e.g. ``replicas=2``,
        ``metricsPort=9090``); a stopped operator gets its replica back."""
        replicas = operator.pop("replicas", None)
        if replicas is None:
            replicas = (self.values.get("operator") or {}).get("replicas") or 1
        self.install({"operator": {**operator, "replicas": replicas}})
        wait_until(
            lambda: len(self.operator_pods(running=True)) == replicas,
            timeout=120,
            what=f"{replicas} running operator pod(s)",
        )

    def stop_operator(self) -> None:
        """Scale the operator to 0 (``helm upgrade``) and wait until its pods are gone."""
        self.install({"operator": {"replicas": 0}})
        wait_until(
            lambda: not self.pods("operator", all_phases=True),
            timeout=120,
            what="the operator pods to terminate",
        )

    def kill_operator(self, pod: str | None = None) -> list[str]:
        """SIGKILL the process of operator ``pod`` (default: every running one), as a
        crash: no cleanup runs, and the kubelet restarts it (restartPolicy Always)."""
        names = [pod] if pod else [p["metadata"]["name"] for p in self.operator_pods(True)]
        for name in names:
            assert self.kubelet.kill_pod_process(self.namespace, name), f"no process of {name}"
        return names

    def operator_pods(self, running: bool = False) -> list[dict[str, Any]]:
        """The operator's pods (not being deleted); only those Running if ``running``."""
        return [
            p for p in self.pods("operator") if not running or p["status"].get("phase") == "Running"
        ]

    def restarts(self, pod: str) -> int:
        """How often the kubelet restarted ``pod``'s containers."""
        status = json.loads(self.kubectl("get", "pod", pod, "-o", "json"))["status"]
        return sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])

    def operator_log(self, pod: str | None = None) -> str:
        """``kubectl logs`` of operator ``pod`` (default: every operator pod, prefixed)."""
        if pod:
            return self.kubectl("logs", pod, "--tail=-1")
        return self.kubectl(
            "logs", "-l", f"{LABEL_COMPONENT}=operator", "--prefix", "--tail=-1",
            "--max-log-requests=10",
        )  # fmt: skip

    # -- reads -----------------------------------------------------------------

    def pods(self, component: str, *, all_phases: bool = False) -> list[dict[str, Any]]:
        """Pods of the release's ``component`` (operator, webui) or of the operator's
        Jobs (worker, audit), without those being deleted unless ``all_phases``."""
        label = "ledger.guestbook.io/role" if component in ("worker", "audit") else LABEL_COMPONENT
        found = json.loads(self.kubectl("get", "pods", "-l", f"{label}={component}", "-o", "json"))
        return [
            p for p in found["items"] if all_phases or not p["metadata"].get("deletionTimestamp")
        ]

    def diagnostics(self) -> str:
        """The namespace's pods and Jobs, every pod's log (also of restarted containers)
        and the events: what a test prints for when it fails."""
        parts = [self.kubectl.run("get", "pods,jobs", "-o", "wide", check=False).stdout]
        found = json.loads(
            self.kubectl.run("get", "pods", "-o", "json", check=False).stdout or "{}"
        )
        for pod in found.get("items", []):
            name = pod["metadata"]["name"]
            for previous in ("--previous=true", "--previous=false"):
                log = self.kubectl.run("logs", name, previous, "--tail=200", check=False)
                if log.returncode == 0 and log.stdout:
                    parts.append(f"--- {name} ({previous})\n{log.stdout}")
        events = self.kubectl.run("get", "events", "--sort-by=.lastTimestamp", check=False)
        parts.append("--- events\n" + events.stdout[-10_000:])
        return "\n".join(parts)

    def close(self) -> None:
        """Print :meth:`diagnostics` (pytest shows them when the test failed), uninstall,
        delete the Ledgers, Jobs and pods, and wait a while for the pods to end, so that
        they do not share the CPU with the next test. A second call does nothing."""
        if not self.values:
            return
        print(self.diagnostics())
        self.values = {}
        self.uninstall()  # first the operator, which would make Jobs anew
        # Not left to the garbage collector, which may take its time.
        for kind in ("ledgers", "jobs", "pods"):
            self.kubectl.run("delete", kind, "--all", "--wait=false", check=False)
        waited = self.kubectl.run(
            "wait", "--for=delete", "pods", "--all", "--timeout=60s", check=False, timeout=90
        )
        if waited.returncode != 0:
            left = self.kubectl.run("get", "ledgers,jobs,pods", "-o", "wide", check=False)
            print(f"still there after 60 s:\n{left.stdout}")


@pytest.fixture
def release(
    namespace: str,
    kubeconfig: Path,
    kubectl: Kubectl,
    process_kubelet: Kubelet,
    crds: Kubectl,
    ledger_dsn: str,
) -> Iterator[Release]:
    """The chart's release in the test's namespace, not installed yet (a test that
    needs another database or namespace labels sets them first, then installs)."""
    found = Release(namespace, kubeconfig, kubectl, process_kubelet, ledger_dsn)
    try:
        yield found
    finally:
        found.close()
