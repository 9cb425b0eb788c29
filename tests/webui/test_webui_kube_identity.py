"""The web UI acts as the identity its kubeconfig names (a ServiceAccount token),
so RBAC decides what it may do; it is never an anonymous caller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from guestbook_webui.kube import KubeApi, KubeApiError

pytestmark = pytest.mark.timeout(60)
CRDS = Path(__file__).resolve().parents[2] / "crds"
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: signer, namespace: default}
rules:
  - apiGroups: [ledger.guestbook.io]
    resources: [guestbookentries]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: signer, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: signer}
subjects: [{kind: ServiceAccount, name: webui, namespace: default}]
"""


@pytest.fixture
def rbac_cluster(tmp_path: Path) -> Iterator[DevCluster]:
    with DevCluster(authorization="rbac") as cluster:
        admin = Kubectl(cluster.write_kubeconfig(tmp_path / "admin"), tmp_path / "cache")
        admin("apply", "-f", str(CRDS / "guestbookentries.yaml"))
        admin("apply", "-f", "-", input=ROLE)
        yield cluster


async def test_requests_carry_the_kubeconfig_token(
    rbac_cluster: DevCluster, tmp_path: Path
) -> None:
    kubeconfig = rbac_cluster.services.write_kubeconfig_for(
        tmp_path / "webui.kubeconfig", "default", "webui"
    )
    api = KubeApi.from_kubeconfig(str(kubeconfig))
    try:
        created = await api.create_entry("default", ledger="guestbook", author="", message="hi")
        with pytest.raises(KubeApiError) as refused:
            await api.list_entries("default")  # not granted
    finally:
        await api.aclose()
    assert created["metadata"]["name"].startswith("entry-")
    assert refused.value.code == 403
    calls = rbac_cluster.services.request_log.records("system:serviceaccount:default:webui")
    assert [(r.verb, r.resource, r.allowed) for r in calls] == [
        ("create", "guestbookentries", True),
        ("list", "guestbookentries", False),
    ]
