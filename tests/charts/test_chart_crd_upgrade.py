"""The chart README's CRD upgrade step, on the real control plane.

Helm installs a chart's `crds/` only when they are missing and never upgrades
them, so a cluster that got the CRDs from an older chart keeps the older schema
after `helm upgrade`. The README's step, `kubectl apply --server-side
--force-conflicts -f crds/`, brings the new fields. Shown with an older Ledger
CRD (this one without `spec.retention`): a Ledger using the field is refused,
`helm upgrade` leaves the CRD as it is, and after
the step the field is accepted and stored. (`--force-conflicts`: Helm 4 applies
`crds/` server-side at install under its own field manager, so a plain server-side
apply of a changed CRD conflicts with it on `.spec.versions`.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml
from chart_manifests import CHART, MINIMAL, RELEASE
from guestbook_localcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(300)

LEDGER_CRD = "ledgers.ledger.guestbook.io"
# The command the chart README gives (run from the chart's folder).
UPGRADE_STEP = ("apply", "--server-side", "--force-conflicts", "-f", f"{CHART / 'crds'}/")
# No operator pod (replicas 0), and nothing cluster-scoped: this release must not act
# on other tests' namespaces, nor outlive the test.
VALUES: dict[str, Any] = {
    **MINIMAL,
    "operator": {"replicas": 0},
    "webui": {"enabled": False},
    "ledger": {"create": False},
    "helmTest": {"enabled": False},
}


def older_ledger_crd(tmp_path: Path) -> Path:
    """The Ledger CRD as a chart before `spec.retention` had it."""
    crd = yaml.safe_load((CHART / "crds" / "ledgers.yaml").read_text())
    for version in crd["spec"]["versions"]:
        del version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["retention"]
    path = tmp_path / "ledgers-older.yaml"
    path.write_text(yaml.safe_dump(crd))
    return path


def ledger(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "Ledger",
            "metadata": {"name": name},
            "spec": {"retention": {"sealedEntrySeconds": 600}},
        }
    )


def has_retention(admin_kubectl: Kubectl) -> bool:
    crd = json.loads(admin_kubectl("get", "crd", LEDGER_CRD, "-o", "json"))
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return "retention" in spec["properties"]


def test_the_readme_step_brings_a_new_crd_field_that_helm_upgrade_does_not(
    admin_kubectl: Kubectl,
    crds: Kubectl,
    kubectl: Kubectl,
    kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
) -> None:
    values = {**VALUES, "operator": {"replicas": 0, "watchNamespaces": [namespace]}}
    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
        config.install(CHART, RELEASE, values, timeout=120)
        try:
            # The cluster still has the older chart's Ledger CRD.
            older = str(older_ledger_crd(tmp_path))
            admin_kubectl("apply", "--server-side", "--force-conflicts", "-f", older)
            assert not has_retention(admin_kubectl)
            refused = kubectl.run("apply", "-f", "-", input=ledger("before"), check=False)
            assert refused.returncode != 0
            assert 'unknown field "spec.retention"' in refused.stderr

            # `helm upgrade` leaves the CRDs as they are.
            config.upgrade(CHART, RELEASE, values, timeout=120)
            assert not has_retention(admin_kubectl)

            admin_kubectl(*UPGRADE_STEP)
            admin_kubectl(
                "wait", "--for=condition=Established", "--timeout=60s", f"crd/{LEDGER_CRD}"
            )
            assert has_retention(admin_kubectl)
            kubectl("apply", "-f", "-", input=ledger("after"))
            stored = json.loads(kubectl("get", "ledger", "after", "-o", "json"))
            assert stored["spec"]["retention"] == {"sealedEntrySeconds": 600}
            kubectl("delete", "ledger", "after", "--wait=false")
        finally:
            admin_kubectl(*UPGRADE_STEP)  # the repository's CRDs for the tests that follow
            config.uninstall(RELEASE, timeout=120)
