"""What Helm needs beyond kubectl's usual calls: Deployments (apps/v1) are served,
and DELETE accepts protobuf DeleteOptions (Helm's release storage sends them)."""

from __future__ import annotations

import json

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(120)

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "example/web:1"}]},
        },
    },
}


def test_deployments_are_applied_listed_patched_and_deleted_with_kubectl(
    kubectl: Kubectl,
) -> None:
    assert "created" in kubectl("apply", "-f", "-", input=json.dumps(DEPLOYMENT))
    assert "deployments" in kubectl("api-resources", "--api-group=apps")
    assert "deployment.apps/web" in kubectl("get", "all", "-o", "name")

    changed = json.loads(json.dumps(DEPLOYMENT))
    changed["spec"]["replicas"] = 3
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "example/web:2"
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(changed))
    live = json.loads(kubectl("get", "deploy", "web", "-o", "json"))
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "example/web:2"}
    ]
    assert live["metadata"]["generation"] == 2

    kubectl("delete", "deployment", "web")
    assert kubectl("get", "deployments", "-o", "name") == ""


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (payloads here are shorter than 128 bytes)."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def _delete_options(uid: str) -> bytes:
    """protobuf DeleteOptions{preconditions: {uid}, propagationPolicy: Background},
    wrapped in runtime.Unknown as client-go sends it."""
    type_meta = _field(1, b"meta.k8s.io/v1") + _field(2, b"DeleteOptions")
    options = _field(2, _field(1, uid.encode())) + _field(4, b"Background")
    return b"k8s\x00" + _field(1, type_meta) + _field(2, options)


def test_delete_honours_protobuf_delete_options(devcluster: DevCluster, kubectl: Kubectl) -> None:
    kubectl("create", "secret", "generic", "release", "--from-literal=a=b")
    uid = json.loads(kubectl("get", "secret", "release", "-o", "json"))["metadata"]["uid"]
    url = f"{devcluster.url}/api/v1/namespaces/default/secrets/release"
    headers = {
        "Authorization": f"Bearer {devcluster.token}",
        "Content-Type": "application/vnd.kubernetes.protobuf",
    }
    with httpx.Client(headers=headers) as client:
        stale = client.request("DELETE", url, content=_delete_options("not-the-uid"))
        assert stale.status_code == 409, stale.text
        assert stale.json()["reason"] == "Conflict"
        assert kubectl("get", "secret", "release", "-o", "name") == "secret/release\n"

        deleted = client.request("DELETE", url, content=_delete_options(uid))
        assert deleted.status_code == 200, deleted.text
    assert kubectl("get", "secrets", "-o", "name") == ""
