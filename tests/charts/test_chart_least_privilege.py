"""The chart's RBAC is what the components need, no less and no more.

The chart is installed with Helm into the local API server in RBAC mode; the
real operator runs as the chart's operator ServiceAccount, with the chart's
arguments and environment; its worker and audit pods run as the chart's worker
ServiceAccount (the job runner gives each pod its ServiceAccount's identity);
the web UI runs as its own. Entries are signed through the web UI, sealed,
audited and retired, and a `helm upgrade` makes the operator scale the worker
Job. The API server's request log then shows that no call of theirs was
refused, and that every right granted was used, but for the few named below
that only rare paths need. Both RBAC shapes are checked: cluster-wide, and
namespaced (RoleBindings in the served namespaces only).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import httpx
import pytest
from chart_manifests import CHART, FULL, NAMESPACE, RELEASE, container, render, rules_of
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from guestbook_operator.localsystem import wait_until

pytestmark = pytest.mark.timeout(300)

ENTRIES = 3
WARM_POOL = {
    "minWorkers": 1,
    "maxWorkers": 2,
    "workerIdleSeconds": 3600,
    "auditIntervalSeconds": 2,
    "retention": {"sealedEntrySeconds": 1},
}


@dataclass
class Installed:
    cluster: DevCluster
    kubectl: Kubectl
    values: dict[str, Any]
    state: Path


# Cluster-wide (the default), or serving listed namespaces through RoleBindings.
SCOPES: dict[str, dict[str, Any]] = {
    "cluster-wide": {},
    "namespaced": {"watchNamespaces": ["team-a"]},
}


@pytest.fixture(params=sorted(SCOPES))
def installed(request: pytest.FixtureRequest, ledger_dsn: str) -> Iterator[Installed]:
    """The chart installed by Helm into an RBAC-enforcing local API server."""
    # Not pytest's tmp_path: pod processes and PostgreSQL may run as other users.
    state = Path(tempfile.mkdtemp(prefix="guestbook-chart-rbac-"))
    values: dict[str, Any] = {
        "database": {"dsn": ledger_dsn},
        # Two replicas: peering rights are exercised too (one replica runs here).
        "operator": {
            "replicas": 2,
            "env": {"GUESTBOOK_REPAIR_INTERVAL": "2", "GUESTBOOK_RECONCILE_INTERVAL": "0.5"},
            **SCOPES[request.param],
        },
        # Audits and retirement of sealed entries soon, so their rights are used; a
        # warm worker that stays, so that raising minWorkers scales its Job.
        "ledger": {"spec": WARM_POOL},
    }
    try:
        with DevCluster(authorization="rbac", bookmark_interval=1.0) as cluster:
            admin = cluster.write_kubeconfig(state / "admin.kubeconfig")
            kubectl = Kubectl(admin, state / "kube-cache")
            for namespace in values["operator"].get("watchNamespaces", []):
                kubectl("create", "namespace", namespace)  # the user's, not the chart's
            with helm.Config(kubeconfig_path=admin, namespace=NAMESPACE) as config:
                config.install(CHART, RELEASE, values, create_namespace=True, timeout=120)
            yield Installed(cluster, kubectl, values, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "guestbook_ledger", *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def _container_env(system: Installed, deployment: dict[str, Any]) -> dict[str, str]:
    """The Deployment's container environment as the kubelet would resolve it."""
    env: dict[str, str] = {}
    for item in container(deployment).get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]["secretKeyRef"]
        secret = json.loads(
            system.kubectl("get", "secret", ref["name"], "-n", NAMESPACE, "-o", "json")
        )
        # The local API server keeps stringData as written (a real one folds it into data).
        if ref["key"] in (secret.get("stringData") or {}):
            env[item["name"]] = secret["stringData"][ref["key"]]
        else:
            env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
    return env


def _used(system: Installed, account: str) -> tuple[set[tuple[str, str, str]], list[str]]:
    """(apiGroup, resource, verb) of the account's allowed calls, and its refused ones."""
    user = f"system:serviceaccount:{NAMESPACE}:{account}"
    records = system.cluster.services.request_log.records(user)
    assert records, f"{account} made no API call"
    refused = [
        f"{r.verb} {r.resource_label} {r.namespace}/{r.name}" for r in records if not r.allowed
    ]
    used = {
        (r.api_group, f"{r.resource}/{r.subresource}" if r.subresource else r.resource, r.verb)
        for r in records
        if r.allowed and r.resource  # discovery and /version are open to everyone
    }
    return used, refused


def test_operator_workers_and_web_ui_need_every_right_they_get_and_no_other(
    installed: Installed,
) -> None:
    chart = render(installed.values)
    operator_deployment = chart.one("Deployment", f"{FULL}-operator")
    webui_deployment = chart.one("Deployment", f"{FULL}-webui")
    services = installed.cluster.services
    logs = installed.state

    # The operator: the chart's arguments (liveness on a free loopback port) and env.
    operator_env = _container_env(installed, operator_deployment)
    operator_env["KUBECONFIG"] = str(
        services.write_kubeconfig_for(logs / "operator.kubeconfig", NAMESPACE, f"{FULL}-operator")
    )
    args = [
        f"--liveness=http://127.0.0.1:{_free_port()}/healthz" if a.startswith("--liveness") else a
        for a in container(operator_deployment)["args"]
    ]
    webui_env = _container_env(installed, webui_deployment)
    webui_env["KUBECONFIG"] = str(
        services.write_kubeconfig_for(logs / "webui.kubeconfig", NAMESPACE, f"{FULL}-webui")
    )
    port = _free_port()
    webui_args = ["webui", "--host", "127.0.0.1", "--port", str(port)]
    operator = _start(args, operator_env, logs / "operator.log")
    webui = _start(webui_args, webui_env, logs / "webui.log")
    try:
        base = f"http://127.0.0.1:{port}"

        def webui_ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(webui_ready, timeout=90, what="the web UI to be ready")
        names = []
        for n in range(ENTRIES):
            created = httpx.post(
                f"{base}/entries", json={"author": "Ada", "message": f"note {n}"}, timeout=30
            )
            assert created.status_code == 201, created.text
            names.append(created.json()["name"])
        assert httpx.get(f"{base}/api/entries/{names[0]}", timeout=30).status_code == 200

        def ledger() -> dict[str, Any]:
            got: dict[str, Any] = json.loads(
                installed.kubectl("get", "ledger", "guestbook", "-n", NAMESPACE, "-o", "json")
            )
            return got.get("status") or {}

        wait_until(lambda: ledger().get("treeSize") == ENTRIES, timeout=180, what="entries sealed")
        assert httpx.get(f"{base}/api/ledger", timeout=30).json()["treeSize"] == ENTRIES
        wait_until(lambda: ledger().get("lastAudit"), timeout=120, what="an audit")
        wait_until(
            lambda: not installed.kubectl("get", "gbe", "-n", NAMESPACE, "-o", "name"),
            timeout=120,
            what="sealed entries retired",
        )

        # `helm upgrade` raises the warm pool: the operator scales the running Job.
        upgraded = {**installed.values, "ledger": {"spec": {**WARM_POOL, "minWorkers": 2}}}
        with helm.Config(kubeconfig_path=installed.kubectl.kubeconfig, namespace=NAMESPACE) as h:
            h.upgrade(CHART, RELEASE, upgraded, timeout=120)

        def worker_parallelism() -> list[int]:
            jobs = json.loads(
                installed.kubectl(
                    "get", "jobs", "-n", NAMESPACE, "-l", "ledger.guestbook.io/role=worker",
                    "-o", "json",
                )
            )  # fmt: skip
            return [job["spec"].get("parallelism") for job in jobs["items"]]

        wait_until(lambda: worker_parallelism() == [2], timeout=120, what="the Job scaled to 2")
    finally:
        _stop(webui)
        _stop(operator)
        for log in ("operator.log", "webui.log"):
            print(f"--- {log}\n" + (logs / log).read_text(errors="replace")[-10_000:])

    granted = {
        "operator": set(rules_of(chart.one("ClusterRole", f"{FULL}-operator")))
        | set(rules_of(chart.one("ClusterRole", f"{FULL}-operator-cluster"))),
        "worker": set(rules_of(chart.one("ClusterRole", f"{FULL}-worker"))),
        "webui": set(rules_of(chart.one("Role", f"{FULL}-webui"))),
    }
    unused_allowed = {
        "operator": {
            # Only when an entry's status write meets a conflict (two writers at once).
            ("ledger.guestbook.io", "guestbookentries", "get"),
            # Only when the database URI changed since the Ledger's Secret was made.
            ("", "secrets", "patch"),
            # Only when an entry arrives before Kopf has listed the Ledgers.
            ("ledger.guestbook.io", "ledgers", "get"),
        },
        # Only when the audit finds a mismatch, to report it on the entry.
        "worker": {("ledger.guestbook.io", "guestbookentries", "get")},
        "webui": set(),
    }
    for component, rights in granted.items():
        used, refused = _used(installed, f"{FULL}-{component}")
        assert refused == [], f"{component} was refused: {refused}"
        assert used <= rights, f"{component} used rights it was not granted: {used - rights}"
        assert rights - used <= unused_allowed[component], (
            f"{component} never used: {sorted(rights - used)}"
        )
