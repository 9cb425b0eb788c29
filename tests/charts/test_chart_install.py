"""`helm install`, `upgrade` and `uninstall` of the chart, by Helm's own Go SDK, into the
real control plane (a namespace of its own); what they did is checked with the real kubectl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from chart_manifests import CHART, FULL, MINIMAL, RELEASE
from guestbook_localcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(180)

CRD_NAMES = (
    "guestbookentries.ledger.guestbook.io",
    "ledgers.ledger.guestbook.io",
    "kopfpeerings.kopf.dev",
    "clusterkopfpeerings.kopf.dev",
)
INSTALLED = {
    f"deployment.apps/{FULL}-operator",
    f"deployment.apps/{FULL}-webui",
    f"service/{FULL}-webui",
    f"serviceaccount/{FULL}-operator",
    f"serviceaccount/{FULL}-worker",
    f"serviceaccount/{FULL}-webui",
    f"secret/{FULL}-database",
    f"role.rbac.authorization.k8s.io/{FULL}-webui",
    f"role.rbac.authorization.k8s.io/{FULL}-worker",
    f"rolebinding.rbac.authorization.k8s.io/{FULL}-webui",
    f"rolebinding.rbac.authorization.k8s.io/{FULL}-worker",
    "ledger.ledger.guestbook.io/guestbook",
}
CLUSTER_SCOPED = {
    f"clusterrole.rbac.authorization.k8s.io/{FULL}-operator",
    f"clusterrole.rbac.authorization.k8s.io/{FULL}-operator-cluster",
    f"clusterrolebinding.rbac.authorization.k8s.io/{FULL}-operator",
    f"clusterrolebinding.rbac.authorization.k8s.io/{FULL}-operator-cluster",
}
# A cluster-wide operator would act on the Ledgers of every other test of the session's
# cluster: this release's operator image is one no node has, so it never runs.
# (Not ".../guestbook-ledger-operator": the process kubelet matches an image by its last
# path component too, so that one would run, cluster-wide, beside later tests.)
UNRUNNABLE = "registry.invalid/no-such-image"
# The database URI is not reachable from here: no Job makes the web UI's role with it.
VALUES: dict[str, Any] = {
    "database": {**MINIMAL["database"], "webuiReader": {"create": False}},
    "operator": {"image": {"repository": UNRUNNABLE}},
}
NAMESPACED_KINDS = "deployments,services,serviceaccounts,secrets,roles,rolebindings,ledgers"
CLUSTER_KINDS = "clusterroles,clusterrolebindings,clusterkopfpeerings"


@pytest.fixture
def helm_config(kubeconfig: Path, namespace: str) -> Iterator[helm.Config]:
    """Helm bound to the cluster, releases stored in Secrets of the test's namespace."""
    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
        yield config


def _names(kubectl: Kubectl, kinds: str, *scope: str) -> set[str]:
    """`kubectl get KINDS -o name`, without what the cluster makes on its own."""
    out = kubectl("get", kinds, "-o", "name", *scope)
    return {
        line
        for line in out.splitlines()
        if not line.startswith(
            ("serviceaccount/default", "secret/sh.helm.release.", "configmap/kube-root-ca.crt")
        )
    }


def _get(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json"))


def _releases(kubectl: Kubectl) -> list[str]:
    out = kubectl("get", "secrets", "-l", "owner=helm", "-o", "name")
    return sorted(out.split())


def test_install_upgrade_and_uninstall(helm_config: helm.Config, kubectl: Kubectl) -> None:
    installed = helm_config.install(CHART, RELEASE, VALUES, timeout=120)
    assert (installed["status"], installed["revision"]) == ("deployed", 1)

    kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in CRD_NAMES)
    )
    assert _names(kubectl, NAMESPACED_KINDS) == INSTALLED
    assert _names(kubectl, CLUSTER_KINDS) >= CLUSTER_SCOPED
    operator = _get(kubectl, "deployment", f"{FULL}-operator")
    assert operator["spec"]["replicas"] == 1
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{UNRUNNABLE}:0.1.0"
    ledger = _get(kubectl, "ledger", "guestbook")
    assert ledger["spec"]["maxWorkers"] == 4
    assert ledger["spec"]["workerIdleSeconds"] == 10  # the CRD's default, applied by the API
    assert "ledger.guestbook.io/v1alpha1" in kubectl("api-versions")
    assert _releases(kubectl) == [f"secret/sh.helm.release.v1.{RELEASE}.v1"]

    # Upgrade: two peering replicas of a new image, the web UI switched off.
    changed = {
        **MINIMAL,
        "operator": {"replicas": 2, "image": {"repository": UNRUNNABLE, "tag": "0.2.0"}},
        "webui": {"enabled": False},
    }
    upgraded = helm_config.upgrade(CHART, RELEASE, changed, timeout=120)
    assert (upgraded["status"], upgraded["revision"]) == ("deployed", 2)
    operator = _get(kubectl, "deployment", f"{FULL}-operator")
    assert operator["spec"]["replicas"] == 2
    container = operator["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{UNRUNNABLE}:0.2.0"
    assert f"--peering={FULL}" in container["args"]
    assert f"clusterkopfpeering.kopf.dev/{FULL}" in _names(kubectl, "clusterkopfpeerings")
    webui = {n for n in INSTALLED if "webui" in n}
    assert _names(kubectl, NAMESPACED_KINDS) == INSTALLED - webui
    assert [r["revision"] for r in helm_config.history(RELEASE)] == [1, 2]
    assert helm_config.get_values(RELEASE)["operator"]["replicas"] == 2

    helm_config.uninstall(RELEASE, timeout=120)
    # Kept: the Ledger (resource-policy keep) and the CRDs (Helm never deletes them).
    assert _names(kubectl, NAMESPACED_KINDS) == {"ledger.ledger.guestbook.io/guestbook"}
    assert not [n for n in _names(kubectl, CLUSTER_KINDS) if FULL in n]
    kubectl("get", *(f"crd/{n}" for n in CRD_NAMES))
    assert _releases(kubectl) == []
    assert helm_config.list(all_states=True) == []


def test_a_refused_install_creates_nothing(helm_config: helm.Config, kubectl: Kubectl) -> None:
    with pytest.raises(helm.HelmError) as raised:
        helm_config.install(CHART, RELEASE, {"operator": {"replicas": 2}})
    assert "set database.dsn" in str(raised.value)
    assert _names(kubectl, "deployments,secrets,serviceaccounts") == set()
    assert not [n for n in _names(kubectl, "clusterroles,clusterrolebindings") if FULL in n]
    # Helm installs a chart's crds/ before it checks or renders the values: a refused
    # install leaves the CRDs (the same a good install makes, and Helm never deletes).
    assert {
        f"customresourcedefinition.apiextensions.k8s.io/{name}" for name in CRD_NAMES
    } <= _names(kubectl, "crds")
    assert helm_config.list(all_states=True) == []
