"""The objects the chart makes for other projects' operators, checked against their CRDs.

`database.cloudnativepg.enabled` renders a CloudNativePG `Cluster` (and the
web UI's read-only role's Secret); `serviceMonitor.enabled` a Prometheus
Operator `ServiceMonitor`. Neither operator can run here (they need a container
runtime), so after that project's own CRD (from its Go module) is applied to
the real kube-apiserver, the Cluster is created with `--dry-run=server` (the
API server validates it against CloudNativePG's schema and stores nothing) and
the ServiceMonitor is installed by `helm install` (which renders it because
the cluster now serves monitoring.coreos.com/v1).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from chart_manifests import CHART, FULL, RELEASE, container, env_of, render
from guestbook_localcluster.kubectl import Kubectl
from upstream_crds import (
    CLOUDNATIVEPG,
    CLOUDNATIVEPG_CLUSTER_CRD,
    PROMETHEUS_OPERATOR,
    SERVICEMONITOR_CRD,
    apply_crd,
    module_file,
)

pytestmark = pytest.mark.timeout(600)

Obj = dict[str, Any]
CNPG: Obj = {"database": {"cloudnativepg": {"enabled": True}}}
CLUSTER = f"{FULL}-db"


@pytest.fixture(scope="module")
def cloudnativepg_crd(admin_kubectl: Kubectl) -> str:
    return apply_crd(admin_kubectl, module_file(CLOUDNATIVEPG, CLOUDNATIVEPG_CLUSTER_CRD))


@pytest.fixture(scope="module")
def servicemonitor_crd(admin_kubectl: Kubectl) -> str:
    return apply_crd(admin_kubectl, module_file(PROMETHEUS_OPERATOR, SERVICEMONITOR_CRD))


def dry_run(kubectl: Kubectl, obj: Obj) -> Any:
    """``kubectl create --dry-run=server`` of ``obj`` in the test's namespace."""
    obj = copy.deepcopy(obj)
    obj["metadata"].pop("namespace", None)
    return kubectl.run(
        "create", "--dry-run=server", "--validate=strict", "-f", "-",
        input=json.dumps(obj), check=False,
    )  # fmt: skip


def test_the_cloudnativepg_cluster_passes_cloudnativepgs_own_schema(
    cloudnativepg_crd: str, kubectl: Kubectl
) -> None:
    chart = render(CNPG)
    cluster = chart.one("Cluster", CLUSTER)
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    accepted = dry_run(kubectl, cluster)
    assert accepted.returncode == 0, accepted.stderr
    assert "Warning" not in accepted.stderr, accepted.stderr  # no unknown field dropped
    reader = chart.one("Secret", f"{CLUSTER}-webui")
    assert dry_run(kubectl, reader).returncode == 0

    # The schema is really enforced: a role CloudNativePG does not know how to ensure.
    wrong = copy.deepcopy(cluster)
    wrong["spec"]["managed"]["roles"][0]["ensure"] = "sometimes"
    refused = dry_run(kubectl, wrong)
    assert refused.returncode != 0
    assert "spec.managed.roles[0].ensure" in refused.stderr


def test_with_cloudnativepg_the_operator_uses_the_app_secret_and_the_web_ui_a_read_only_role() -> (
    None
):
    chart = render(CNPG)
    operator = container(chart.one("Deployment", f"{FULL}-operator"))
    assert env_of(operator)["GUESTBOOK_DSN"] == {
        "secretKeyRef": {"name": f"{CLUSTER}-app", "key": "uri"}
    }
    webui = container(chart.one("Deployment", f"{FULL}-webui"))
    assert env_of(webui)["GUESTBOOK_DSN"] == {
        "secretKeyRef": {"name": f"{CLUSTER}-webui", "key": "uri"}
    }
    role = chart.one("Cluster", CLUSTER)["spec"]["managed"]["roles"][0]
    assert role["name"] == "guestbook_webui"
    assert role["inRoles"] == ["pg_read_all_data"]  # SELECT on every table, nothing more
    assert role["passwordSecret"] == {"name": f"{CLUSTER}-webui"}
    secret = chart.one("Secret", f"{CLUSTER}-webui")["stringData"]
    assert secret["username"] == "guestbook_webui"
    assert secret["uri"] == (
        f"postgresql://guestbook_webui:{secret['password']}@{CLUSTER}-rw.guestbook.svc:5432/guestbook"
    )
    assert len(secret["password"]) == 32
    assert chart.all("Secret") == [chart.one("Secret", f"{CLUSTER}-webui")]  # no URI copied
    # The NetworkPolicies let the pods reach the Cluster's pods only.
    database_rule = chart.one("NetworkPolicy", f"{FULL}-operator")["spec"]["egress"][1]
    assert database_rule["to"][0]["podSelector"] == {"matchLabels": {"cnpg.io/cluster": CLUSTER}}


def test_an_external_database_beside_cloudnativepg_is_refused() -> None:
    with pytest.raises(helm.HelmRenderError) as raised:
        render({"database": {"dsn": "postgresql://x@db/x", "cloudnativepg": {"enabled": True}}})
    assert "Two ledger databases are configured" in str(raised.value)


def test_the_servicemonitor_is_installed_where_the_cluster_serves_it(
    servicemonitor_crd: str, kubeconfig: Path, namespace: str, kubectl: Kubectl
) -> None:
    values = {
        "database": {"dsn": "postgresql://x@db/x"},
        # No operator pod (it must not act), serving only this namespace.
        "operator": {"metricsPort": 9090, "watchNamespaces": [namespace], "replicas": 0},
        "webui": {"enabled": False},
        "ledger": {"create": False},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    }
    # `helm install` renders with the cluster's API versions (.Capabilities), and the
    # API server validates the ServiceMonitor against the Prometheus Operator's CRD.
    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
        config.install(CHART, RELEASE, values, timeout=120)
        try:
            monitor = json.loads(kubectl("get", "servicemonitor", f"{FULL}-operator", "-o", "json"))
            service = json.loads(
                kubectl("get", "service", f"{FULL}-operator-metrics", "-o", "json")
            )
        finally:
            config.uninstall(RELEASE, timeout=120)
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "interval": "30s"}]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [namespace]}
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_a_servicemonitor_without_its_crd_or_metrics_is_refused_saying_what_to_do() -> None:
    base = {"database": {"dsn": "postgresql://x@db/x"}, "serviceMonitor": {"enabled": True}}
    with pytest.raises(helm.HelmRenderError) as raised:
        render({**base, "operator": {"metricsPort": 9090}})  # offline: no such API
    assert "needs the Prometheus Operator's ServiceMonitor CRD" in str(raised.value)
    assert "--api-versions monitoring.coreos.com/v1/ServiceMonitor" in str(raised.value)
    with pytest.raises(helm.HelmRenderError) as raised:
        render(base)
    assert "set operator.metricsPort too" in str(raised.value)
