"""The web UI acts as the identity its kubeconfig names (a ServiceAccount token),
so RBAC decides what it may do; it is never an anonymous caller. The API
server's audit log says who made each call and whether it was allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from guestbook_kube.client import ApiError
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_webui.kube import KubeApi
from webui_server import wait_until

pytestmark = pytest.mark.timeout(60)
ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: signer}
rules:
  - apiGroups: [ledger.guestbook.io]
    resources: [guestbookentries]
    verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: signer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: signer}
subjects: [{kind: ServiceAccount, name: webui}]
"""


def token_kubeconfig(path: Path, control_plane: ControlPlane, token: str) -> Path:
    """A kubeconfig whose user is a bearer token, as a pod's service account is."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": control_plane.server_url,
                    "certificate-authority": str(control_plane.pki.ca_cert),
                },
            }
        ],
        "users": [{"name": "webui", "user": {"token": token}}],
        "contexts": [{"name": "webui", "context": {"cluster": "local", "user": "webui"}}],
        "current-context": "webui",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def audited_calls(audit_log: Path, username: str) -> list[tuple[str, str, str]]:
    """(verb, resource, authorization decision) of each finished request by ``username``."""
    calls = []
    for line in audit_log.read_text(encoding="utf-8").splitlines():
        event: dict[str, Any] = json.loads(line)
        if (
            event.get("user", {}).get("username") == username
            and event["stage"] == "ResponseComplete"
        ):
            decision = event.get("annotations", {}).get("authorization.k8s.io/decision", "")
            calls.append((event["verb"], event["objectRef"]["resource"], decision))
    return calls


async def test_requests_carry_the_kubeconfig_token(
    control_plane: ControlPlane, crds: Kubectl, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    username = f"system:serviceaccount:{namespace}:webui"
    kubectl("create", "serviceaccount", "webui")
    kubectl("apply", "-f", "-", input=ROLE)
    token = kubectl("create", "token", "webui").strip()
    kubeconfig = token_kubeconfig(tmp_path / "webui.kubeconfig", control_plane, token)

    api = KubeApi.from_kubeconfig(str(kubeconfig))
    try:
        created = await api.create_entry(namespace, ledger="guestbook", author="", message="hi")
        with pytest.raises(ApiError) as refused:
            await api.list_entries_page(namespace)  # not granted
    finally:
        await api.aclose()

    assert created["metadata"]["name"].startswith("entry-")
    assert refused.value.code == 403
    assert username in str(refused.value)
    calls = wait_until(
        lambda: c if len(c := audited_calls(control_plane.audit_log, username)) >= 2 else None,
        timeout=30,
        what="the API server to audit both calls",
    )
    assert calls == [
        ("create", "guestbookentries", "allow"),
        ("list", "guestbookentries", "forbid"),
    ]
