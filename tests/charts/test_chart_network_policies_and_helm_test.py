"""The chart with its NetworkPolicies on the real control plane, checked by `helm test`.

The release (operator, web UI, a Ledger) is installed by Helm's Go SDK; `helm
test` (the SDK's ``Config.test``) then runs the chart's test pod on the process
kubelet, in the operator image's environment: it signs the guestbook through
the API server and waits until the workers have sealed the entry.

The local cluster has no network plugin, so nothing *enforces* the
NetworkPolicies here; what is shown is that kube-apiserver accepts them, that
their selectors pick exactly the pods they are meant for (operator, web UI,
the operator's worker pods), and that the API server rule names the API
server's real address, looked up at install.
"""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import pytest
from chart_release import LABEL_COMPONENT, RELEASE, Release

pytestmark = pytest.mark.timeout(600)

Obj = dict[str, Any]


def selector_string(selector: Obj) -> str:
    """A LabelSelector as `kubectl -l` takes it."""
    terms = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        assert expression["operator"] == "In", expression
        terms.append(f"{expression['key']} in ({','.join(expression['values'])})")
    return ",".join(terms)


def selected_components(release: Release, policy: Obj) -> set[str]:
    """The components (label app.kubernetes.io/component) of the pods ``policy`` selects."""
    selector = selector_string(policy["spec"]["podSelector"])
    pods = json.loads(release.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]
    return {p["metadata"]["labels"].get(LABEL_COMPONENT, "") for p in pods}


def run_helm_test(release: Release, timeout: int) -> dict[str, Any]:
    with helm.Config(kubeconfig_path=release.kubeconfig, namespace=release.namespace) as config:
        return config.test(RELEASE, timeout=timeout, logs=True)


def test_helm_test_signs_and_sees_the_seal_with_the_network_policies_in_place(
    release: Release, admin_kubectl: Any
) -> None:
    release.install({"webui": {"enabled": True}, "ledger": {"create": True}})

    result = run_helm_test(release, timeout=300)
    logs = json.dumps(result.get("logs"))
    assert "sealed at index 0" in logs, logs
    assert "checks out" in logs, logs
    # The test pod and its ServiceAccount and Role are gone once it passed.
    assert not release.kubectl("get", "pods,serviceaccounts,roles", "-o", "name", "-l",
                               f"{LABEL_COMPONENT}=test")  # fmt: skip

    policies = {
        p["metadata"]["name"]: p
        for p in json.loads(release.kubectl("get", "networkpolicies", "-o", "json"))["items"]
    }
    components = ("operator", "webui", "worker", "test", "webui-role")
    assert set(policies) == {f"{RELEASE}-{c}" for c in components}
    assert selected_components(release, policies[f"{RELEASE}-operator"]) == {"operator"}
    assert selected_components(release, policies[f"{RELEASE}-webui"]) == {"webui"}
    # The pods of the worker Job that sealed the helm test's entry (and of audit Jobs).
    workers = selected_components(release, policies[f"{RELEASE}-worker"])
    assert "worker" in workers and workers <= {"worker", "audit"}, workers

    # Egress: the API server at the addresses the cluster has for it, and the database.
    # (Here the API server advertises 127.0.0.1, which an EndpointSlice may not hold, so
    # only the `kubernetes` Service's address is known; a cluster has both.)
    service = json.loads(
        admin_kubectl("get", "service", "kubernetes", "-n", "default", "-o", "json")
    )
    api_addresses = {f"{service['spec']['clusterIP']}/32"}
    api_ports = {443}
    slices = admin_kubectl.run(
        "get", "endpointslice", "kubernetes", "-n", "default", "-o", "json", check=False
    )
    if slices.returncode == 0:
        found = json.loads(slices.stdout)
        api_addresses |= {f"{a}/32" for e in found["endpoints"] or [] for a in e["addresses"]}
        api_ports |= {p["port"] for p in found["ports"] or []}
    # The web UI's role Job talks to the database (and DNS) only.
    role_job = policies.pop(f"{RELEASE}-webui-role")["spec"]
    assert [port["port"] for port in role_job["egress"][0]["ports"]] == [5432]
    assert "ipBlock" not in json.dumps(role_job["egress"])
    for name, policy in policies.items():
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress", "Egress"], name
        api_rule = spec["egress"][0]
        assert api_addresses <= {peer["ipBlock"]["cidr"] for peer in api_rule["to"]}, name
        assert api_ports <= {port["port"] for port in api_rule["ports"]}, name
        if name != f"{RELEASE}-test":  # the helm test pod talks to the API server only
            assert [port["port"] for port in spec["egress"][1]["ports"]] == [5432], name
    assert len(policies[f"{RELEASE}-test"]["spec"]["egress"]) == 1
    # Ingress: the web UI's HTTP port; nothing reaches the workers, nor the operator
    # (its metrics are off).
    assert policies[f"{RELEASE}-webui"]["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": "http"}]}
    ]
    assert not policies[f"{RELEASE}-worker"]["spec"].get("ingress")
    assert not policies[f"{RELEASE}-operator"]["spec"].get("ingress")


def test_helm_test_fails_saying_why_when_nothing_seals(release: Release) -> None:
    release.install(
        {
            "webui": {"enabled": False},
            "ledger": {"create": True},
            "operator": {"replicas": 0},  # nobody admits or seals the entry
            "helmTest": {"timeoutSeconds": 15},
        }
    )
    with pytest.raises(helm.HelmReleaseError):
        run_helm_test(release, timeout=120)
    # The failed test pod is kept (hook-delete-policy), with what went wrong.
    log = release.kubectl("logs", f"{RELEASE}-test")
    assert "was not sealed within 15 s" in log, log
    assert "are the operator and its workers running?" in log, log
