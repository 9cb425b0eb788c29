"""Conformance with the real kubectl: everything a person does with the project's CRDs."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml
from devcluster_manifests import CRDS, ENTRY_CRD, entry
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def crds(kubectl: Kubectl) -> Kubectl:
    """kubectl with the project's CRDs applied and established."""
    kubectl("apply", "-f", str(CRDS))
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/guestbookentries.ledger.guestbook.io",
        "crd/ledgers.ledger.guestbook.io",
    )
    return kubectl


def test_api_resources_lists_builtins_and_crds_with_short_names(crds: Kubectl) -> None:
    out = crds("api-resources")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    for name in (
        "pods",
        "namespaces",
        "jobs",
        "leases",
        "events",
        "secrets",
        "configmaps",
        "serviceaccounts",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "customresourcedefinitions",
        "guestbookentries",
        "ledgers",
    ):
        assert name in rows, name
    assert rows["guestbookentries"][1] == "gbe"
    assert rows["guestbookentries"][2] == "ledger.guestbook.io/v1alpha1"
    assert "guestbook" in crds("api-resources", "--categories=guestbook")


def test_apply_then_get_shows_printer_columns(crds: Kubectl) -> None:
    assert "created" in crds("apply", "-f", "-", input=entry("first", "hi there", "alice"))
    table = crds("get", "guestbookentries")
    header, row = table.splitlines()[:2]
    assert header.split() == ["NAME", "AUTHOR", "PHASE", "INDEX", "HASH", "AGE"]
    assert row.split()[:2] == ["first", "alice"]
    wide = crds("get", "gbe", "-o", "wide")
    assert wide.splitlines()[0].split()[-1] == "MESSAGE"
    assert "hi there" in wide
    by_category = crds("get", "guestbook")
    assert "guestbookentry.ledger.guestbook.io/first" in by_category
    assert "unchanged" in crds("apply", "-f", "-", input=entry("first", "hi there", "alice"))


def test_output_formats(crds: Kubectl) -> None:
    crds("apply", "-f", "-", input=entry("fmt", "formats"))
    as_yaml = yaml.safe_load(crds("get", "gbe", "fmt", "-o", "yaml"))
    assert as_yaml["spec"] == {"author": "alice", "message": "formats", "ledger": "guestbook"}
    meta = as_yaml["metadata"]
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"]
    as_json = json.loads(crds("get", "gbe", "fmt", "-o", "json"))
    assert as_json["kind"] == "GuestbookEntry"
    assert crds("get", "gbe", "fmt", "-o", "jsonpath={.spec.message}") == "formats"
    listed = json.loads(crds("get", "gbe", "-o", "json"))
    assert [i["metadata"]["name"] for i in listed["items"]] == ["fmt"]
    assert crds("get", "gbe", "-o", "name") == "guestbookentry.ledger.guestbook.io/fmt\n"


def test_describe_shows_spec_and_events(crds: Kubectl) -> None:
    crds("apply", "-f", "-", input=entry("described", "look at me", "bob"))
    uid = crds("get", "gbe", "described", "-o", "jsonpath={.metadata.uid}")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "described.1", "namespace": "default"},
        "involvedObject": {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "name": "described",
            "namespace": "default",
            "uid": uid,
        },
        "reason": "Admitted",
        "message": "recorded in the ledger database",
        "type": "Normal",
        "count": 1,
        "source": {"component": "guestbook-operator"},
    }
    crds("create", "-f", "-", input=json.dumps(event))
    described = crds("describe", "gbe", "described")
    assert "look at me" in described
    assert "Admitted" in described and "recorded in the ledger database" in described


def test_invalid_entry_is_refused_with_every_field(crds: Kubectl) -> None:
    bad = entry("bad", "", "x" * 70)
    result = crds.run("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert "spec.message" in result.stderr and "spec.author" in result.stderr
    assert "bad" not in crds("get", "gbe", "-o", "name")


def test_patch_merge_and_json_and_label(crds: Kubectl) -> None:
    crds("apply", "-f", "-", input=entry("patched"))
    crds("label", "gbe", "patched", "team=blue")
    assert crds("get", "gbe", "-l", "team=blue", "-o", "name").strip().endswith("/patched")
    assert crds("get", "gbe", "-l", "team!=blue", "-o", "name") == ""
    crds("patch", "gbe", "patched", "--type=merge", "-p", '{"metadata":{"annotations":{"a":"1"}}}')
    crds(
        "patch",
        "gbe",
        "patched",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/metadata/annotations/b","value":"2"}]',
    )
    annotations = json.loads(
        crds("get", "gbe", "patched", "-o", "jsonpath={.metadata.annotations}")
    )
    assert annotations["a"] == "1" and annotations["b"] == "2"
    crds(
        "patch",
        "gbe",
        "patched",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Sealed","leafIndex":3}}',
    )
    assert crds("get", "gbe", "patched", "-o", "jsonpath={.status.phase}") == "Sealed"
    immutable = crds.run(
        "patch",
        "gbe",
        "patched",
        "--type=merge",
        "-p",
        '{"spec":{"message":"changed"}}',
        check=False,
    )
    assert immutable.returncode != 0 and "immutable" in immutable.stderr


def test_delete_waits_for_finalizers(crds: Kubectl) -> None:
    crds("apply", "-f", "-", input=entry("held"))
    crds("patch", "gbe", "held", "--type=merge", "-p", '{"metadata":{"finalizers":["test/hold"]}}')
    crds("delete", "gbe", "held", "--wait=false")
    stamp = crds("get", "gbe", "held", "-o", "jsonpath={.metadata.deletionTimestamp}")
    assert stamp
    crds(
        "patch",
        "gbe",
        "held",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
    )
    result = crds.run("get", "gbe", "held", check=False)
    assert result.returncode != 0 and "NotFound" in result.stderr


def test_wait_for_jsonpath(crds: Kubectl, devcluster: DevCluster) -> None:
    crds("apply", "-f", "-", input=entry("awaited"))
    waiter = subprocess.Popen(
        [
            *_argv(crds),
            "wait",
            "gbe/awaited",
            "--for=jsonpath={.status.phase}=Sealed",
            "--timeout=60s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        crds(
            "patch",
            "gbe",
            "awaited",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"phase":"Sealed"}}',
        )
        out, err = waiter.communicate(timeout=90)
    finally:
        waiter.kill()
    assert waiter.returncode == 0, err
    assert "condition met" in out


def test_get_watch_streams_changes(crds: Kubectl) -> None:
    crds("apply", "-f", "-", input=entry("watched-1"))
    watcher = subprocess.Popen(
        [*_argv(crds), "get", "gbe", "-w", "--request-timeout=8s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        crds("apply", "-f", "-", input=entry("watched-2"))
        crds(
            "patch",
            "gbe",
            "watched-1",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"phase":"Sealed"}}',
        )
        out, _ = waiter_output(watcher, deadline)
    finally:
        watcher.kill()
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["NAME", "AUTHOR", "PHASE", "INDEX", "HASH", "AGE"]
    assert ["watched-2", "alice"] in [row[:2] for row in lines]
    assert ["watched-1", "alice", "Sealed"] in [row[:3] for row in lines]


def waiter_output(process: subprocess.Popen[str], deadline: float) -> tuple[str, str]:
    """Everything the process printed until it exits (its request timeout) or the deadline."""
    return process.communicate(timeout=max(1.0, deadline - time.monotonic()))


def test_namespaces_builtins_and_delete_namespace(kubectl: Kubectl) -> None:
    assert {"default", "kube-system", "kube-public"} <= set(
        kubectl("get", "ns", "-o", "jsonpath={.items[*].metadata.name}").split()
    )
    kubectl("create", "namespace", "scratch")
    kubectl("create", "configmap", "settings", "-n", "scratch", "--from-literal=a=1")
    kubectl("create", "secret", "generic", "key", "-n", "scratch", "--from-literal=k=v")
    assert kubectl("get", "cm", "settings", "-n", "scratch", "-o", "jsonpath={.data.a}") == "1"
    missing = kubectl.run("create", "configmap", "x", "-n", "nowhere", check=False)
    assert missing.returncode != 0 and 'namespaces "nowhere" not found' in missing.stderr
    kubectl("delete", "namespace", "scratch", "--timeout=30s")
    assert kubectl.run("get", "ns", "scratch", check=False).returncode != 0
    assert kubectl.run("get", "cm", "settings", "-n", "scratch", check=False).returncode != 0


def test_strategic_merge_patches_and_immutable_fields(kubectl: Kubectl) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "work"},
        "spec": {
            "parallelism": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "python",
                            "command": ["true"],
                            "env": [{"name": "A", "value": "1"}],
                        },
                        {"name": "side", "image": "python", "command": ["true"]},
                    ],
                }
            },
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(job))
    kubectl("patch", "job", "work", "-p", '{"spec":{"parallelism":3}}')
    got = json.loads(kubectl("get", "job", "work", "-o", "json"))
    assert got["spec"]["parallelism"] == 3 and got["metadata"]["generation"] == 2
    immutable = kubectl.run(
        "patch",
        "job",
        "work",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"main","env":[{"name":"B"}]}]}}}}',
        check=False,
    )
    assert immutable.returncode != 0 and "field is immutable" in immutable.stderr
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "two"},
        "spec": job["spec"]["template"]["spec"],  # type: ignore[index]
    }
    kubectl("apply", "-f", "-", input=json.dumps(pod))
    kubectl(
        "patch",
        "pod",
        "two",
        "-p",
        '{"spec":{"containers":[{"name":"side","image":"python:3.12"}]}}',
    )
    containers = json.loads(kubectl("get", "pod", "two", "-o", "jsonpath={.spec.containers}"))
    assert [(c["name"], c["image"]) for c in containers] == [
        ("main", "python"),
        ("side", "python:3.12"),
    ]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}]
    kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        input=json.dumps({**job, "metadata": {"name": "applied"}}),
    )
    assert kubectl("get", "job", "applied", "-o", "name") == "job.batch/applied\n"


def _argv(kubectl: Kubectl) -> list[str]:
    return [
        "kubectl",
        f"--kubeconfig={kubectl.kubeconfig}",
        f"--cache-dir={kubectl.cache_dir}",
    ]


def test_apply_crd_file_is_served_at_once(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", str(ENTRY_CRD))
    status = json.loads(
        kubectl("get", "crd", "guestbookentries.ledger.guestbook.io", "-o", "jsonpath={.status}")
    )
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert kubectl("get", "gbe") == ""


def test_create_commands_and_cluster_info(kubectl: Kubectl) -> None:
    assert "running at http://127.0.0.1:" in kubectl("cluster-info")
    kubectl("create", "serviceaccount", "bot")
    kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
    service = json.loads(kubectl("get", "svc", "web", "-o", "json"))
    assert service["spec"]["ports"] == [
        {"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}
    ]
    assert service["spec"]["selector"] == {"app": "web"}
    kubectl("patch", "svc", "web", "-p", '{"spec":{"ports":[{"port":80,"name":"http"}]}}')
    ports = json.loads(kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ports}"))
    assert ports == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]
    assert "service/kubernetes" in kubectl("get", "all", "-o", "name")
    kubectl("create", "job", "once", "--image=python", "--", "python3", "-c", "print(1)")
    job = json.loads(kubectl("get", "job", "once", "-o", "json"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python3", "-c", "print(1)"]
    assert container["image"] == "python"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_server_side_apply_removes_what_the_manager_stopped_applying(kubectl: Kubectl) -> None:
    first = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ssa", "labels": {"a": "1", "b": "2"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "ssa"}},
            "template": {
                "metadata": {"labels": {"app": "ssa"}},
                "spec": {
                    "containers": [
                        {"name": "main", "image": "python"},
                        {"name": "side", "image": "busybox"},
                    ]
                },
            },
        },
    }
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(first))
    kubectl("label", "deployment", "ssa", "other=yes")
    second = json.loads(json.dumps(first))
    second["metadata"]["labels"] = {"a": "1"}
    del second["spec"]["replicas"]
    second["spec"]["template"]["spec"]["containers"] = [{"name": "main", "image": "python:3"}]
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(second))
    live = json.loads(kubectl("get", "deployment", "ssa", "-o", "json", "--show-managed-fields"))
    assert live["metadata"]["labels"] == {"a": "1", "other": "yes"}
    assert "replicas" not in live["spec"]
    assert live["spec"]["template"]["spec"]["containers"] == [{"name": "main", "image": "python:3"}]
    managers = [(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]]
    assert managers == [("kubectl", "Apply")]
    kubectl("apply", "--server-side", "-f", "-", input=json.dumps(second))
    again = json.loads(kubectl("get", "deployment", "ssa", "-o", "json"))
    assert again["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
