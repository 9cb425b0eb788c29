"""Every pod of a release passes Pod Security `restricted`, judged by kube-apiserver itself.

The operator and web UI pods come from the rendered chart; the worker and
audit pods from the operator's own manifests, with the settings the chart
passes the operator (GUESTBOOK_WORKER_*). Each is created with
``--dry-run=server`` in a namespace enforcing `restricted`: the API server runs
its PodSecurity admission on it and stores nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from chart_manifests import DSN, FULL, MINIMAL, NAMESPACE, container, env_of, render
from guestbook_localcluster.kubectl import Kubectl
from guestbook_operator.config import load_config
from guestbook_operator.manifests import audit_job, worker_job

Obj = dict[str, Any]


@pytest.fixture
def restricted(admin_kubectl: Kubectl, namespace: str) -> Kubectl:
    """kubectl in a namespace that enforces (and warns about) Pod Security `restricted`."""
    admin_kubectl(
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/warn=restricted",
    )
    return Kubectl(admin_kubectl.kubeconfig, admin_kubectl.cache_dir, namespace=namespace)


def _operator_made_pods(values: Obj) -> dict[str, Obj]:
    """The worker and audit pod specs the operator makes with the chart's settings."""
    operator = container(render(values).one("Deployment", f"{FULL}-operator"))
    settings = {k: v for k, v in env_of(operator).items() if isinstance(v, str)}
    # The worker URI is a secretKeyRef in the chart; the operator reads its value.
    config = load_config({**settings, "GUESTBOOK_DSN": DSN, "GUESTBOOK_WORKER_DSN": DSN})
    ledger = {"metadata": {"name": "guestbook", "namespace": NAMESPACE, "uid": "u"}, "spec": {}}
    return {
        "worker": worker_job(ledger, config, parallelism=1)["spec"]["template"]["spec"],
        "audit": audit_job(ledger, config)["spec"]["template"]["spec"],
    }


def _release_pods(values: Obj) -> dict[str, Obj]:
    chart = render(values)
    pods = {
        component: chart.one("Deployment", f"{FULL}-{component}")["spec"]["template"]["spec"]
        for component in ("operator", "webui")
    }
    test_pod = next(h for h in chart.hooks if h["kind"] == "Pod")  # `helm test`'s
    return {**pods, "helm-test": test_pod["spec"], **_operator_made_pods(values)}


def _create_pod(kubectl: Kubectl, name: str, spec: Obj) -> Any:
    # The ServiceAccount admission plugin refuses a pod whose account is missing.
    account = spec.get("serviceAccountName")
    if account:
        kubectl.run("create", "serviceaccount", account, check=False)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
    return kubectl.run("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)


def test_every_pod_of_a_release_is_admitted_under_restricted(restricted: Kubectl) -> None:
    for component, spec in _release_pods(MINIMAL).items():
        result = _create_pod(restricted, component, spec)
        assert result.returncode == 0, f"{component}: {result.stderr}"
        assert "PodSecurity" not in result.stderr, f"{component}: {result.stderr}"


def test_the_jobs_and_deployments_draw_no_pod_security_warning(restricted: Kubectl) -> None:
    chart = render(MINIMAL)
    operator = container(chart.one("Deployment", f"{FULL}-operator"))
    settings = {k: v for k, v in env_of(operator).items() if isinstance(v, str)}
    # The worker URI is a secretKeyRef in the chart; the operator reads its value.
    config = load_config({**settings, "GUESTBOOK_DSN": DSN, "GUESTBOOK_WORKER_DSN": DSN})
    ledger = {"metadata": {"name": "guestbook", "namespace": "x", "uid": "u"}, "spec": {}}
    workloads = [
        chart.one("Deployment", f"{FULL}-operator"),
        chart.one("Deployment", f"{FULL}-webui"),
        worker_job(ledger, config, parallelism=2),
        audit_job(ledger, config),
    ]
    for workload in workloads:
        workload = json.loads(json.dumps(workload))
        workload["metadata"].pop("namespace", None)
        workload["metadata"].pop("ownerReferences", None)  # the Ledger is not there
        result = restricted.run(
            "create", "--dry-run=server", "-f", "-", input=json.dumps(workload), check=False
        )
        assert result.returncode == 0, result.stderr
        assert "would violate PodSecurity" not in result.stderr, result.stderr


def test_without_the_settings_a_worker_pod_is_refused(restricted: Kubectl) -> None:
    values = {**MINIMAL, "worker": {"podSecurityContext": None, "securityContext": None}}
    result = _create_pod(restricted, "worker", _operator_made_pods(values)["worker"])
    assert result.returncode != 0
    assert "violates PodSecurity" in result.stderr
    assert "allowPrivilegeEscalation != false" in result.stderr
