"""What issue 11's chart review asked for, as `helm install` would render it."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
from chart_manifests import CHART, DSN, FULL, MINIMAL, container, env_of, render

DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_sha256_tags_render_as_digest_references() -> None:
    chart = render(
        {
            **MINIMAL,
            "operator": {"image": {"repository": "registry.example/op", "tag": DIGEST}},
            "worker": {"image": {"repository": "registry.example/worker"}},
            "webui": {"image": {"repository": "registry.example/web", "tag": DIGEST}},
        }
    )
    operator = container(chart.one("Deployment", f"{FULL}-operator"))
    assert operator["image"] == f"registry.example/op@{DIGEST}"
    assert env_of(operator)["GUESTBOOK_WORKER_IMAGE"] == f"registry.example/worker@{DIGEST}"
    assert container(chart.one("Deployment", f"{FULL}-webui"))["image"] == (
        f"registry.example/web@{DIGEST}"
    )
    test_pod = next(h for h in chart.hooks if h["kind"] == "Pod")
    assert test_pod["spec"]["containers"][0]["image"] == f"registry.example/op@{DIGEST}"
    # A plain tag still follows a colon.
    tagged = render({**MINIMAL, "operator": {"image": {"tag": "1.2.3"}}})
    assert container(tagged.one("Deployment", f"{FULL}-operator"))["image"] == (
        "guestbook-ledger-operator:1.2.3"
    )


def test_a_metrics_port_on_the_health_port_is_refused_saying_what_to_do() -> None:
    with pytest.raises(helm.HelmRenderError) as raised:
        render({**MINIMAL, "operator": {"metricsPort": 8080}})
    message = str(raised.value)
    assert "operator.metricsPort 8080 is the operator's health port" in message
    assert "--set operator.metricsPort=9090" in message
    chart = render({**MINIMAL, "operator": {"metricsPort": 9090}})
    ports = container(chart.one("Deployment", f"{FULL}-operator"))["ports"]
    assert ports == [
        {"name": "health", "containerPort": 8080},
        {"name": "ready", "containerPort": 8081},
        {"name": "metrics", "containerPort": 9090},
    ]
    with pytest.raises(helm.HelmRenderError) as raised:
        render({**MINIMAL, "operator": {"metricsPort": 8081}})
    assert "operator.metricsPort 8081 is the operator's readiness port" in str(raised.value)
    assert chart.one("Service", f"{FULL}-operator-metrics")["spec"]["ports"][0]["port"] == 9090
    assert not render(MINIMAL).all("Service")[1:]  # metrics off: only the web UI's Service


def test_the_web_ui_gets_a_disruption_budget_and_an_optional_ingress_with_tls() -> None:
    chart = render(MINIMAL)
    budget = chart.one("PodDisruptionBudget", f"{FULL}-webui")
    assert budget["spec"]["maxUnavailable"] == 1
    webui = chart.one("Deployment", f"{FULL}-webui")
    assert budget["spec"]["selector"]["matchLabels"] == webui["spec"]["selector"]["matchLabels"]
    assert chart.all("Ingress") == []
    assert render({**MINIMAL, "webui": {"enabled": False}}).all("PodDisruptionBudget") == []
    three = render({**MINIMAL, "podDisruptionBudget": {"minAvailable": 2}})
    assert three.one("PodDisruptionBudget", f"{FULL}-webui")["spec"] == {
        "minAvailable": 2,
        "selector": budget["spec"]["selector"],
    }

    ingress = render(
        {
            **MINIMAL,
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "host": "guestbook.example.org",
                "tlsSecretName": "guestbook-tls",
                "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
            },
        }
    ).one("Ingress", f"{FULL}-webui")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [
        {"hosts": ["guestbook.example.org"], "secretName": "guestbook-tls"}
    ]
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "guestbook.example.org"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": f"{FULL}-webui", "port": {"name": "http"}}
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}


def test_the_default_ledger_retires_sealed_entry_resources_after_a_day() -> None:
    spec = render(MINIMAL).one("Ledger", "guestbook")["spec"]
    assert spec["retention"] == {"sealedEntrySeconds": 86400}
    kept = render({**MINIMAL, "ledger": {"spec": {"retention": None}}}).one("Ledger", "guestbook")
    assert "retention" not in kept["spec"]


def test_worker_pods_get_the_resources_and_security_context_values() -> None:
    values: dict[str, Any] = {
        **MINIMAL,
        "worker": {
            "resources": {"limits": {"memory": "512Mi"}},
            "podSecurityContext": {"fsGroup": 10001},
        },
    }
    env = env_of(container(render(values).one("Deployment", f"{FULL}-operator")))
    assert '"memory":"512Mi"' in env["GUESTBOOK_WORKER_RESOURCES"]
    assert '"fsGroup":10001' in env["GUESTBOOK_WORKER_POD_SECURITY_CONTEXT"]
    assert '"runAsNonRoot":true' in env["GUESTBOOK_WORKER_POD_SECURITY_CONTEXT"]


def test_the_notes_warn_when_the_web_ui_would_write_with_the_operators_credentials() -> None:
    warning = "WARNING: the web UI connects to the database with the operator's read-write"
    no_reader = {**MINIMAL, "database": {"dsn": DSN, "webuiReader": {"create": False}}}
    assert warning in render(no_reader).notes
    assert warning in render({"database": {"existingSecret": "ledger-db"}}).notes
    assert warning not in render(MINIMAL).notes  # the chart makes a read-only role
    separate = {**MINIMAL, "webui": {"database": {"dsn": "postgresql://reader@db/guestbook"}}}
    assert warning not in render(separate).notes
    assert warning not in render({"database": {"cloudnativepg": {"enabled": True}}}).notes
    assert "helm test gb -n guestbook" in render(MINIMAL).notes


def test_a_database_uri_gets_the_web_ui_a_read_only_role_made_by_a_hook_job() -> None:
    dsn = "postgresql://guestbook:s3cr%40t@db.example:5433/ledger?sslmode=require"
    chart = render({"database": {"dsn": dsn}})
    secret = chart.one("Secret", f"{FULL}-webui-database")["stringData"]
    password = secret["password"]
    assert len(password) == 32
    # The operator's URI with the role's name and password: same host, database, options.
    assert secret["dsn"] == (
        f"postgresql://guestbook_webui:{password}@db.example:5433/ledger?sslmode=require"
    )
    job = next(h for h in chart.hooks if h["kind"] == "Job")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    role_container = pod["containers"][0]
    assert role_container["args"] == ["--role=guestbook_webui"]
    assert env_of(role_container)["GUESTBOOK_DSN"] == {
        "secretKeyRef": {"name": f"{FULL}-database", "key": "dsn"}
    }
    assert env_of(role_container)["GUESTBOOK_WEBUI_PASSWORD"] == {
        "secretKeyRef": {"name": f"{FULL}-webui-database", "key": "password"}
    }
    # Not made where the chart cannot build a URI, or the user gave the web UI one.
    for values in (
        {"database": {"existingSecret": "ledger-db"}},
        {"database": {"dsn": "host=db dbname=ledger user=guestbook"}},
        {**MINIMAL, "webui": {"database": {"existingSecret": "reader"}}},
        {**MINIMAL, "webui": {"enabled": False}},
    ):
        made = render(values)
        assert not [o for o in made.objects if o["metadata"]["name"] == f"{FULL}-webui-database"]
        assert not [h for h in made.hooks if h["kind"] == "Job"]


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"networkPolicy": {"apiServer": {"cidrs": ["10.0.0.1"]}}}, "/networkPolicy/apiServer"),
        ({"networkPolicy": {"database": {"ports": []}}}, "/networkPolicy/database/ports"),
        ({"ingress": {"host": "Guestbook Example"}}, "/ingress/host"),
        ({"podDisruptionBudget": {"maxUnavailable": "one"}}, "/podDisruptionBudget"),
        ({"database": {"cloudnativepg": {"instances": 0}}}, "/database/cloudnativepg/instances"),
        ({"database": {"cloudnativepg": {"webuiRole": "web-ui"}}}, "/cloudnativepg/webuiRole"),
        ({"helmTest": {"timeoutSeconds": 1}}, "/helmTest/timeoutSeconds"),
        ({"serviceMonitor": {"interval": "often"}}, "/serviceMonitor/interval"),
    ],
)
def test_malformed_new_values_are_refused_naming_the_key(
    values: dict[str, Any], where: str
) -> None:
    with pytest.raises(helm.HelmValuesError) as raised:
        render({**MINIMAL, **values})
    assert where in str(raised.value)


def test_network_policies_take_given_api_server_and_database_peers() -> None:
    chart = render(
        {
            "database": {"dsn": DSN},
            "networkPolicy": {
                "apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [6443]},
                "database": {
                    "cidrs": ["10.20.0.0/16"],
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "db"}},
                },
                "dns": {"enabled": False},
            },
        }
    )
    for component in ("operator", "webui", "worker"):
        egress = chart.one("NetworkPolicy", f"{FULL}-{component}")["spec"]["egress"]
        assert egress == [
            {
                "ports": [{"protocol": "TCP", "port": 6443}],
                "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
            },
            {
                "ports": [{"protocol": "TCP", "port": 5432}],
                "to": [
                    {"ipBlock": {"cidr": "10.20.0.0/16"}},
                    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "db"}}},
                ],
            },
        ], component
    assert render({**MINIMAL, "networkPolicy": {"enabled": False}}).all("NetworkPolicy") == []


@pytest.mark.parametrize(
    "values",
    [
        {
            "database": {"cloudnativepg": {"enabled": True, "instances": 3}},
            "operator": {"metricsPort": 9090, "image": {"tag": DIGEST}},
            "ingress": {"enabled": True, "tlsSecretName": "guestbook-tls"},
            "podDisruptionBudget": {"minAvailable": 1},
        }
    ],
    ids=["everything-on"],
)
def test_helm_lint_strict_passes_with_every_new_feature_on(values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, namespace="guestbook")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []
