"""What `helm install` would create, rendered and linted by Helm's own Go SDK."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import pytest
from chart_manifests import (
    CHART,
    DSN,
    FULL,
    MINIMAL,
    NAMESPACE,
    container,
    env_of,
    render,
    rules_of,
)
from guestbook_operator.config import load_config
from guestbook_operator.manifests import worker_job

LEDGER = "ledger.guestbook.io"
# Values a careful operator of a shared cluster might choose.
CUSTOM: dict[str, Any] = {
    "database": {"existingSecret": "ledger-db", "existingSecretKey": "uri"},
    "operator": {
        "image": {"repository": "registry.example/gb-operator", "tag": "1.2.3"},
        "replicas": 2,
        "watchNamespaces": ["team-b", "team-a"],
        "env": {"GUESTBOOK_REPAIR_INTERVAL": 30},
        "resources": {"limits": {"memory": "512Mi"}},
    },
    "worker": {"image": {"repository": "registry.example/gb-worker"}},
    "webui": {
        "image": {"repository": "registry.example/gb-web", "tag": "1.2.4"},
        "replicas": 3,
        "database": {"dsn": "postgresql://reader@db/guestbook"},
        "service": {"type": "LoadBalancer", "port": 8443},
    },
    "ledger": {"name": "visitors", "spec": {"maxWorkers": 8, "minWorkers": 1}},
    "imagePullSecrets": [{"name": "regcred"}],
}


def _kinds_and_names(values: dict[str, Any]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in render(values).objects}


@pytest.mark.parametrize("values", [MINIMAL, CUSTOM], ids=["minimal", "custom"])
def test_helm_lint_strict_finds_nothing_to_fix(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); 2 and 3 are warnings and errors.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_install_without_a_database_says_what_to_set() -> None:
    with pytest.raises(helm.HelmRenderError) as raised:
        render({})
    assert "The ledger database is not configured: set database.dsn" in str(raised.value)
    assert "database.existingSecret" in str(raised.value)


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"operator": {"replicas": "two"}}, "/operator/replicas"),
        ({"operatr": {"replicas": 2}}, "'operatr' not allowed"),
        ({"webui": {"service": {"type": "Ingress"}}}, "/webui/service/type"),
        ({"operator": {"watchNamespaces": ["Team A"]}}, "/operator/watchNamespaces/0"),
        ({"ledger": {"spec": {"maxWorkers": 0}}}, "/ledger/spec/maxWorkers"),
        ({"operator": {"image": {"repository": ""}}}, "/operator/image/repository"),
        ({"database": {"dsn": 5432}}, "/database/dsn"),
        ({"worker": {"resources": {"limit": {}}}}, "'limit' not allowed"),
        ({"worker": {"podSecurityContext": {"runAsUser": "me"}}}, "/worker/podSecurityContext"),
        ({"worker": {"securityContext": {"capabilities": {"drop": "ALL"}}}}, "/capabilities/drop"),
    ],
)
def test_malformed_values_are_refused_naming_the_key(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError) as raised:
        render({**MINIMAL, **values})
    assert where in str(raised.value)


def test_minimal_install_creates_the_operator_workers_rbac_webui_and_a_ledger() -> None:
    assert _kinds_and_names(MINIMAL) == {
        ("Secret", f"{FULL}-database"),
        ("ServiceAccount", f"{FULL}-operator"),
        ("ClusterRole", f"{FULL}-operator-cluster"),
        ("ClusterRoleBinding", f"{FULL}-operator-cluster"),
        ("ClusterRole", f"{FULL}-operator"),
        ("ClusterRoleBinding", f"{FULL}-operator"),
        ("Deployment", f"{FULL}-operator"),
        ("Role", f"{FULL}-worker"),
        ("ServiceAccount", f"{FULL}-worker"),
        ("RoleBinding", f"{FULL}-worker"),
        ("ServiceAccount", f"{FULL}-webui"),
        ("Role", f"{FULL}-webui"),
        ("RoleBinding", f"{FULL}-webui"),
        ("Deployment", f"{FULL}-webui"),
        ("Service", f"{FULL}-webui"),
        ("Ledger", "guestbook"),
        ("NetworkPolicy", f"{FULL}-operator"),
        ("NetworkPolicy", f"{FULL}-webui"),
        ("NetworkPolicy", f"{FULL}-worker"),
        ("NetworkPolicy", f"{FULL}-test"),
        ("NetworkPolicy", f"{FULL}-webui-role"),
        ("Secret", f"{FULL}-webui-database"),
        ("PodDisruptionBudget", f"{FULL}-webui"),
    }


def test_the_operator_runs_the_image_with_the_database_from_the_chart_secret() -> None:
    chart = render(MINIMAL)
    secret = chart.one("Secret", f"{FULL}-database")
    assert secret["stringData"] == {"dsn": DSN}
    deployment = chart.one("Deployment", f"{FULL}-operator")
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == f"{FULL}-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    operator = container(deployment)
    assert operator["image"] == "guestbook-ledger-operator:0.1.0"  # the chart's appVersion
    assert operator["command"] == ["guestbook-ledger"]
    assert operator["args"] == ["operator", "--liveness=http://0.0.0.0:8080/healthz"]
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["securityContext"]["readOnlyRootFilesystem"] is True
    env = env_of(operator)
    assert env["GUESTBOOK_DSN"] == {"secretKeyRef": {"name": f"{FULL}-database", "key": "dsn"}}
    assert env["GUESTBOOK_WORKER_IMAGE"] == "guestbook-ledger-operator:0.1.0"
    assert env["GUESTBOOK_WORKER_SERVICE_ACCOUNT"] == f"{FULL}-worker"
    assert env["GUESTBOOK_JOB_TTL_SECONDS"] == "300"


OPERATOR_RULES = {
    (LEDGER, "ledgers", "get"),
    (LEDGER, "ledgers", "list"),
    (LEDGER, "ledgers", "watch"),
    (LEDGER, "ledgers", "patch"),
    (LEDGER, "guestbookentries", "list"),
    (LEDGER, "guestbookentries", "watch"),
    (LEDGER, "guestbookentries", "get"),
    (LEDGER, "guestbookentries", "delete"),
    (LEDGER, "ledgers/status", "patch"),
    (LEDGER, "guestbookentries/status", "patch"),
    ("batch", "jobs", "list"),
    ("batch", "jobs", "create"),
    ("batch", "jobs", "patch"),
    ("", "secrets", "get"),
    ("", "secrets", "create"),
    ("", "secrets", "patch"),
    ("", "serviceaccounts", "get"),
    ("", "events", "create"),
}
WORKER_RULES = {
    (LEDGER, "ledgers", "get"),
    (LEDGER, "guestbookentries", "get"),
    (LEDGER, "guestbookentries", "list"),
    (LEDGER, "ledgers/status", "patch"),
    (LEDGER, "guestbookentries/status", "patch"),
    ("", "events", "create"),
}
WEBUI_RULES = {
    (LEDGER, "guestbookentries", "create"),
    (LEDGER, "guestbookentries", "get"),
    (LEDGER, "guestbookentries", "list"),
    (LEDGER, "guestbookentries", "watch"),
}


def test_rbac_grants_each_component_only_what_it_calls() -> None:
    chart = render(MINIMAL)
    operator = chart.one("ClusterRole", f"{FULL}-operator")
    assert set(rules_of(operator)) == OPERATOR_RULES
    cluster = chart.one("ClusterRole", f"{FULL}-operator-cluster")
    assert set(rules_of(cluster)) == {
        ("apiextensions.k8s.io", "customresourcedefinitions", "list"),
        ("apiextensions.k8s.io", "customresourcedefinitions", "watch"),
    }
    for name in (f"{FULL}-operator", f"{FULL}-operator-cluster"):
        binding = chart.one("ClusterRoleBinding", name)
        assert binding["roleRef"]["name"] == name
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"{FULL}-operator", "namespace": NAMESPACE}
        ]
    assert set(rules_of(chart.one("Role", f"{FULL}-worker", NAMESPACE))) == WORKER_RULES
    worker_binding = chart.one("RoleBinding", f"{FULL}-worker")
    assert worker_binding["metadata"]["namespace"] == NAMESPACE
    assert worker_binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": f"{FULL}-worker",
    }
    assert set(rules_of(chart.one("Role", f"{FULL}-webui"))) == WEBUI_RULES
    every_rule = [r for o in chart.all("ClusterRole") + chart.all("Role") for r in rules_of(o)]
    assert not [r for r in every_rule if "*" in r]


def test_the_web_ui_serves_the_release_ledger_behind_a_service() -> None:
    chart = render(MINIMAL)
    deployment = chart.one("Deployment", f"{FULL}-webui")
    web = container(deployment)
    assert web["image"] == "guestbook-ledger-web:0.1.0"
    assert web["args"] == ["webui", "--host", "0.0.0.0", "--port", "8080"]
    assert env_of(web) == {
        "GUESTBOOK_NAMESPACE": NAMESPACE,
        "GUESTBOOK_LEDGER": "guestbook",
        # Its own read-only role (templates/webui-database-role.yaml).
        "GUESTBOOK_DSN": {"secretKeyRef": {"name": f"{FULL}-webui-database", "key": "dsn"}},
        "PYTHONUNBUFFERED": "1",
    }
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == f"{FULL}-webui"
    service = chart.one("Service", f"{FULL}-webui")
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_default_ledger_is_kept_on_uninstall_and_can_be_left_out() -> None:
    ledger = render(MINIMAL).one("Ledger", "guestbook", NAMESPACE)
    assert ledger["spec"] == {
        "minWorkers": 0,
        "maxWorkers": 4,
        "entriesPerWorker": 200,
        "auditIntervalSeconds": 300,
        "retention": {"sealedEntrySeconds": 86400},
    }
    assert ledger["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert render({**MINIMAL, "ledger": {"create": False}}).all("Ledger") == []


def test_custom_values_reach_images_replicas_peering_and_namespaced_rbac() -> None:
    chart = render(CUSTOM)
    served = ["guestbook", "team-a", "team-b"]  # the release namespace joins the list

    operator = chart.one("Deployment", f"{FULL}-operator")
    assert operator["spec"]["replicas"] == 2
    main = container(operator)
    assert main["image"] == "registry.example/gb-operator:1.2.3"
    assert main["args"] == [
        "operator",
        "--liveness=http://0.0.0.0:8080/healthz",
        *(f"--namespace={ns}" for ns in served),
        f"--peering={FULL}",
    ]
    assert main["resources"]["limits"] == {"memory": "512Mi"}
    env = env_of(main)
    assert env["GUESTBOOK_DSN"] == {"secretKeyRef": {"name": "ledger-db", "key": "uri"}}
    assert env["GUESTBOOK_WORKER_IMAGE"] == "registry.example/gb-worker:1.2.3"
    assert env["GUESTBOOK_REPAIR_INTERVAL"] == "30"

    # Peering: one KopfPeering per served namespace, which the operator may use.
    assert sorted(p["metadata"]["namespace"] for p in chart.all("KopfPeering")) == served
    assert chart.all("ClusterKopfPeering") == []
    for namespace in served:
        rules = set(rules_of(chart.one("Role", f"{FULL}-operator", namespace)))
        assert rules - OPERATOR_RULES == {
            ("kopf.dev", "kopfpeerings", verb) for verb in ("list", "watch", "patch", "create")
        }
    # Rights only where it serves, and nothing cluster-scoped: releases in other
    # namespaces never collide, and a namespace admin can install it.
    assert [o for o in chart.objects if o["kind"].startswith("Cluster")] == []
    bindings = [b for b in chart.all("RoleBinding") if b["metadata"]["name"] == f"{FULL}-operator"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == served
    assert {b["roleRef"]["kind"] for b in bindings} == {"Role"}
    # Worker ServiceAccounts wherever a Ledger may be.
    workers = [a for a in chart.all("ServiceAccount") if a["metadata"]["name"] == f"{FULL}-worker"]
    assert sorted(a["metadata"]["namespace"] for a in workers) == served
    # Their pods (made by the operator) pull the images with the chart's pull secrets.
    assert all(a["imagePullSecrets"] == [{"name": "regcred"}] for a in workers)
    assert operator["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]

    # The existing Secret is used, not copied; the web UI's read-only DSN gets its own key.
    assert chart.one("Secret", f"{FULL}-database")["stringData"] == {
        "webui-dsn": "postgresql://reader@db/guestbook"
    }
    webui = chart.one("Deployment", f"{FULL}-webui")
    assert webui["spec"]["replicas"] == 3
    web = container(webui)
    assert web["image"] == "registry.example/gb-web:1.2.4"
    assert env_of(web)["GUESTBOOK_LEDGER"] == "visitors"
    assert env_of(web)["GUESTBOOK_DSN"] == {
        "secretKeyRef": {"name": f"{FULL}-database", "key": "webui-dsn"}
    }
    service = chart.one("Service", f"{FULL}-webui")
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["ports"][0]["port"] == 8443
    # Given spec fields override the chart's defaults; the others stay.
    assert chart.one("Ledger", "visitors")["spec"] == {
        "minWorkers": 1,
        "maxWorkers": 8,
        "entriesPerWorker": 200,
        "auditIntervalSeconds": 300,
        "retention": {"sealedEntrySeconds": 86400},
    }


def test_several_cluster_wide_replicas_share_a_cluster_kopf_peering() -> None:
    chart = render({**MINIMAL, "operator": {"replicas": 3}})
    assert [p["metadata"]["name"] for p in chart.all("ClusterKopfPeering")] == [FULL]
    assert f"--peering={FULL}" in container(chart.one("Deployment", f"{FULL}-operator"))["args"]
    cluster_rules = set(rules_of(chart.one("ClusterRole", f"{FULL}-operator-cluster")))
    assert ("kopf.dev", "clusterkopfpeerings", "patch") in cluster_rules
    assert "3 replicas, one active through Kopf peering" in chart.notes


def test_without_the_web_ui_and_with_an_existing_secret_nothing_of_them_is_rendered() -> None:
    values = {"database": {"existingSecret": "ledger-db"}, "webui": {"enabled": False}}
    names = _kinds_and_names(values)
    assert not [n for n in names if "webui" in n[1]]
    assert ("Secret", f"{FULL}-database") not in names
    operator = container(render(values).one("Deployment", f"{FULL}-operator"))
    assert env_of(operator)["GUESTBOOK_DSN"] == {
        "secretKeyRef": {"name": "ledger-db", "key": "dsn"}
    }


def test_notes_tell_how_to_sign_and_verify() -> None:
    notes = render(MINIMAL).notes
    assert f"kubectl port-forward -n {NAMESPACE} service/{FULL}-webui 8080:80" in notes
    assert "kind: GuestbookEntry" in notes
    assert f"kubectl get guestbookentries -n {NAMESPACE}" in notes
    # Checkpoints, not the v1 JSON heads a new Ledger never has (decision 0084).
    assert "jsonpath='{.status.verifierKey}'" in notes
    assert 'guestbook-ledger verify checkpoint - --vkey "$VKEY"' in notes
    assert "guestbook-ledger verify proof ENTRY.tlog-proof" in notes
    assert "signedTreeHead" not in notes
    assert "guestbook-ledger verify inclusion" in notes
    assert f"guestbook-ledger audit --dsn postgresql://... --ledger {NAMESPACE}/guestbook" in notes


def _worker_pod(values: dict[str, Any]) -> dict[str, Any]:
    """The worker pod the operator would create, from the settings the chart gives it."""
    operator = container(render(values).one("Deployment", f"{FULL}-operator"))
    settings = {k: v for k, v in env_of(operator).items() if isinstance(v, str)}
    config = load_config({**settings, "GUESTBOOK_DSN": DSN})
    ledger = {"metadata": {"name": "guestbook", "namespace": NAMESPACE, "uid": "u"}, "spec": {}}
    pod: dict[str, Any] = worker_job(ledger, config, parallelism=1)["spec"]["template"]["spec"]
    return pod


def test_worker_pods_get_the_charts_restricted_security_and_resources() -> None:
    operator = container(render(MINIMAL).one("Deployment", f"{FULL}-operator"))
    env = env_of(operator)
    assert json.loads(env["GUESTBOOK_WORKER_RESOURCES"]) == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    pod = _worker_pod(MINIMAL)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # The chart's defaults are the operator's own (used without the chart).
    defaults = worker_job(
        {"metadata": {"name": "guestbook", "namespace": NAMESPACE, "uid": "u"}, "spec": {}},
        load_config({"GUESTBOOK_DSN": DSN}),
        parallelism=1,
    )["spec"]["template"]["spec"]
    assert pod["securityContext"] == defaults["securityContext"]
    assert pod["containers"][0]["resources"] == defaults["containers"][0]["resources"]
    assert pod["containers"][0]["securityContext"] == defaults["containers"][0]["securityContext"]


def test_worker_security_and_resources_are_configurable() -> None:
    pod = _worker_pod(
        {
            **MINIMAL,
            "worker": {
                "resources": {"limits": {"cpu": None, "memory": "1Gi"}},
                "podSecurityContext": {"runAsUser": 20002, "runAsGroup": 20002},
                "securityContext": {"readOnlyRootFilesystem": False},
            },
        }
    )
    # Given keys override the defaults, null drops one, the others stay.
    assert pod["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "1Gi"},
    }
    assert pod["securityContext"]["runAsUser"] == 20002
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert pod["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


# --- worker credentials and the operator's probes (decisions 0130, 0133) ---------


def test_workers_get_no_database_credentials_unless_given_their_own() -> None:
    chart = render(MINIMAL)
    env = env_of(container(chart.one("Deployment", f"{FULL}-operator")))
    assert "GUESTBOOK_WORKER_DSN" not in env
    assert "GUESTBOOK_WORKER_DATABASE_SECRET" not in env
    assert set(chart.one("Secret", f"{FULL}-database")["stringData"]) == {"dsn"}
    assert "WARNING: no database credentials for worker pods" in chart.notes


@pytest.mark.parametrize(
    ("worker_database", "expected"),
    [
        (
            {"dsn": "postgresql://guestbook_worker:pw@db/guestbook"},
            {"secretKeyRef": {"name": f"{FULL}-database", "key": "worker-dsn"}},
        ),
        (
            {"existingSecret": "worker-db", "existingSecretKey": "uri"},
            {"secretKeyRef": {"name": "worker-db", "key": "uri"}},
        ),
    ],
    ids=["dsn", "existing-secret"],
)
def test_a_worker_role_given_to_the_chart_reaches_the_operator(
    worker_database: dict[str, str], expected: dict[str, Any]
) -> None:
    chart = render({**MINIMAL, "worker": {"database": worker_database}})
    env = env_of(container(chart.one("Deployment", f"{FULL}-operator")))
    assert env["GUESTBOOK_WORKER_DSN"] == expected
    assert env["GUESTBOOK_DSN"] == {"secretKeyRef": {"name": f"{FULL}-database", "key": "dsn"}}
    if "dsn" in worker_database:
        secret = chart.one("Secret", f"{FULL}-database")["stringData"]
        assert secret == {"dsn": DSN, "worker-dsn": worker_database["dsn"]}
    assert "WARNING: no database credentials" not in chart.notes


def test_a_secret_name_for_every_namespace_is_passed_by_name_only() -> None:
    chart = render({**MINIMAL, "worker": {"database": {"secretName": "ledger-worker-db"}}})
    env = env_of(container(chart.one("Deployment", f"{FULL}-operator")))
    assert env["GUESTBOOK_WORKER_DATABASE_SECRET"] == "ledger-worker-db"
    assert "GUESTBOOK_WORKER_DSN" not in env


def test_liveness_never_asks_the_database_readiness_does() -> None:
    operator = container(render(MINIMAL).one("Deployment", f"{FULL}-operator"))
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ready"}
    ports = {p["name"]: p["containerPort"] for p in operator["ports"]}
    env = env_of(operator)
    assert int(env["GUESTBOOK_READINESS_PORT"]) == ports["ready"] != ports["health"]
