"""``--authorization rbac``: bindings allow and deny; the request log shows who did what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl
from job_manifests import apply, get_json, python_job
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

RBAC = "rbac.authorization.k8s.io"


@pytest.fixture
def rbac_cluster() -> Iterator[DevCluster]:
    with DevCluster(authorization="rbac", bookmark_interval=1.0) as cluster:
        yield cluster


@pytest.fixture
def admin(rbac_cluster: DevCluster, tmp_path: Path) -> Kubectl:
    """kubectl as the admin (anonymous over http, bound to cluster-admin at start)."""
    return Kubectl(rbac_cluster.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")


def _client(cluster: DevCluster, token: str) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = cluster.url
    configuration.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(configuration)


def _role(name: str, rules: list[dict[str, Any]], cluster_wide: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRole" if cluster_wide else "Role",
        "metadata": {"name": name},
        "rules": rules,
    }


def _binding(name: str, role: str, subject: dict[str, Any], cluster_wide: bool = False) -> Any:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": "ClusterRoleBinding" if cluster_wide else "RoleBinding",
        "metadata": {"name": name},
        "roleRef": {
            "apiGroup": RBAC,
            "kind": "ClusterRole" if cluster_wide else "Role",
            "name": role,
        },
        "subjects": [subject],
    }


def _forbidden(call: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as raised:
        call()
    assert raised.value.status == 403
    body: dict[str, Any] = json.loads(str(raised.value.body))
    return body


def test_a_role_allows_what_it_grants_and_denies_the_rest_with_a_403_status(
    rbac_cluster: DevCluster, admin: Kubectl
) -> None:
    admin("create", "configmap", "open", "--from-literal=a=1")
    admin("create", "configmap", "secret-plans", "--from-literal=b=2")
    rules = [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get"],
            "resourceNames": ["open"],
        },
    ]
    apply(admin, _role("reader", rules))
    apply(admin, _binding("reader", "reader", {"kind": "ServiceAccount", "name": "reader"}))
    token = rbac_cluster.services.tokens.for_service_account("default", "reader")
    core = client.CoreV1Api(_client(rbac_cluster, token))

    assert len(core.list_namespaced_config_map("default").items) == 2
    assert core.read_namespaced_config_map("open", "default").data == {"a": "1"}
    denied = _forbidden(lambda: core.read_namespaced_config_map("secret-plans", "default"))
    assert denied["kind"] == "Status"
    assert denied["reason"] == "Forbidden"
    assert denied["message"] == (
        'configmaps "secret-plans" is forbidden: User "system:serviceaccount:default:reader" '
        'cannot get resource "configmaps" in API group "" in the namespace "default"'
    )
    _forbidden(
        lambda: core.create_namespaced_config_map(
            "default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="new"))
        )
    )
    _forbidden(lambda: core.list_namespaced_config_map("kube-system"))
    assert "new" not in {c["metadata"]["name"] for c in get_json(admin, "configmaps")["items"]}


def test_subresources_and_cluster_roles_bound_to_groups(
    rbac_cluster: DevCluster, admin: Kubectl
) -> None:
    rules = [
        {"apiGroups": ["batch"], "resources": ["jobs/status"], "verbs": ["get", "patch"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]},
    ]
    apply(admin, _role("status-writer", rules, cluster_wide=True))
    apply(
        admin,
        _binding(
            "status-writers",
            "status-writer",
            {"apiGroup": RBAC, "kind": "Group", "name": "auditors"},
            cluster_wide=True,
        ),
    )
    apply(admin, python_job("audited", "print(1)", suspend=True))
    token = rbac_cluster.services.user_token("alice", ("auditors",))
    batch = client.BatchV1Api(_client(rbac_cluster, token))

    batch.patch_namespaced_job_status("audited", "default", {"status": {"active": 0}})
    denied = _forbidden(
        lambda: batch.patch_namespaced_job("audited", "default", {"spec": {"suspend": False}})
    )
    assert 'cannot patch resource "jobs" in API group "batch"' in denied["message"]
    other = client.BatchV1Api(_client(rbac_cluster, rbac_cluster.services.user_token("bob")))
    _forbidden(lambda: other.read_namespaced_job("audited", "default"))
    job: client.V1Job = batch.read_namespaced_job("audited", "default")
    assert job.spec is not None and job.spec.suspend is True


def test_invalid_tokens_are_unauthorized_and_anonymous_access_follows_its_binding(
    rbac_cluster: DevCluster, admin: Kubectl
) -> None:
    core = client.CoreV1Api(_client(rbac_cluster, "not-a-token"))
    with pytest.raises(ApiException) as raised:
        core.list_namespaced_config_map("default")
    assert raised.value.status == 401

    admin("delete", "clusterrolebinding", "devcluster-anonymous-admin")
    denied = admin.run("get", "configmaps", check=False)
    assert denied.returncode != 0
    assert 'User "system:anonymous" cannot list resource "configmaps"' in denied.stderr


def test_a_pod_acts_as_its_service_account_with_least_privilege(
    rbac_cluster: DevCluster, admin: Kubectl
) -> None:
    rules = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create"]}]
    apply(admin, _role("recorder", rules))
    apply(admin, _binding("recorder", "recorder", {"kind": "ServiceAccount", "name": "recorder"}))
    code = (
        "from kubernetes import client, config\n"
        "config.load_config()\n"
        "core = client.CoreV1Api()\n"
        "core.create_namespaced_config_map('default', {'metadata': {'name': 'note'}})\n"
        "print(core.read_namespaced_config_map('note', 'default').metadata.name)\n"
        "try:\n"
        "    core.list_namespaced_pod('default')\n"
        "except client.exceptions.ApiException as exc:\n"
        "    print('pods:', exc.status)\n"
    )
    apply(admin, python_job("recorder", code, pod_spec={"serviceAccountName": "recorder"}))
    admin("wait", "--for=condition=complete", "job/recorder", "--timeout=60s")

    assert admin("logs", "job/recorder") == "note\npods: 403\n"
    calls = rbac_cluster.services.request_log.records("system:serviceaccount:default:recorder")
    used = {(r.verb, r.resource) for r in calls if r.allowed}
    granted = {(verb, "configmaps") for verb in rules[0]["verbs"]}
    assert used == granted  # every grant was used...
    assert {(r.verb, r.resource) for r in calls if not r.allowed} == {("list", "pods")}
    denied, unused = rbac_cluster.services.least_privilege(
        "system:serviceaccount:default:recorder", "default"
    )
    assert [(r.verb, r.resource) for r in denied] == [("list", "pods")]
    assert unused == set()
    rules.append({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["delete"]})
    apply(admin, _role("recorder", rules))
    _, unused = rbac_cluster.services.least_privilege(
        "system:serviceaccount:default:recorder", "default"
    )
    assert unused == {("batch", "jobs", "delete")}


def test_a_kubeconfig_for_a_service_account_is_authorized_as_it(
    rbac_cluster: DevCluster, admin: Kubectl, tmp_path: Path
) -> None:
    rules = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]
    apply(admin, _role("lister", rules))
    apply(admin, _binding("lister", "lister", {"kind": "ServiceAccount", "name": "operator"}))
    path = rbac_cluster.services.write_kubeconfig_for(tmp_path / "sa", "default", "operator")
    api = config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    core = client.CoreV1Api(api)
    assert core.list_namespaced_secret("default").items == []
    _forbidden(lambda: core.list_namespaced_config_map("default"))
    api.close()  # type: ignore[no-untyped-call]
    users = {r.user for r in rbac_cluster.services.request_log.records() if r.resource == "secrets"}
    assert users == {"system:serviceaccount:default:operator"}
