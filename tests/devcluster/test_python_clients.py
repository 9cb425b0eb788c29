"""Conformance with the `kubernetes` client and pykube-ng, used unchanged."""

# The kubernetes client's models type every field as optional and its helpers are untyped.
# mypy: disable-error-code="union-attr, index, no-untyped-call, no-any-return, attr-defined"

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pykube
import pytest
import yaml
from devcluster_manifests import ENTRY_CRD
from guestbook_devcluster.cluster import DevCluster
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.timeout(90)

GROUP, VERSION, PLURAL = "ledger.guestbook.io", "v1alpha1", "guestbookentries"


@pytest.fixture
def api_client(devcluster: DevCluster, kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture
def with_crd(devcluster: DevCluster, api_client: client.ApiClient) -> client.ApiClient:
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(yaml.safe_load(ENTRY_CRD.read_text()))
    return api_client


def _entry(name: str, message: str = "hello") -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "GuestbookEntry",
        "metadata": {"name": name},
        "spec": {"author": "carol", "message": message},
    }


def test_custom_objects_api_round_trip(with_crd: client.ApiClient) -> None:
    api = client.CustomObjectsApi(with_crd)
    created = api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _entry("k1"))
    assert created["spec"]["ledger"] == "guestbook"  # the CRD's default
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "k1", {"status": {"phase": "Hashing"}}
    )
    got = api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "k1")
    assert got["status"] == {"phase": "Hashing"}
    listed = api.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["k1"]
    with pytest.raises(ApiException) as invalid:
        api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _entry("k2", ""))
    assert invalid.value.status == 422
    with pytest.raises(ApiException) as immutable:
        api.patch_namespaced_custom_object(
            GROUP, VERSION, "default", PLURAL, "k1", {"spec": {"message": "edited"}}
        )
    assert immutable.value.status == 422
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "k1")
    with pytest.raises(ApiException) as gone:
        api.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "k1")
    assert gone.value.status == 404


def test_watch_stream_of_custom_objects(with_crd: client.ApiClient) -> None:
    api = client.CustomObjectsApi(with_crd)
    seen: list[tuple[str, str]] = []
    watcher = watch.Watch()
    # Watch from the list's resourceVersion, as informers do: every later change is
    # delivered in order, however late the watch request reaches the server.
    listed = api.list_namespaced_custom_object(GROUP, VERSION, "default", PLURAL)
    since = listed["metadata"]["resourceVersion"]

    def consume() -> None:
        for event in watcher.stream(
            api.list_namespaced_custom_object,
            GROUP,
            VERSION,
            "default",
            PLURAL,
            resource_version=since,
            timeout_seconds=20,
        ):
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                watcher.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    api.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, _entry("w1"))
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, "default", PLURAL, "w1", {"status": {"phase": "Sealed"}}
    )
    api.delete_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "w1")
    thread.join(30)
    assert not thread.is_alive()
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_core_and_batch_apis(api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    batch = client.BatchV1Api(api_client)
    names = [n.metadata.name for n in core.list_namespace().items]
    assert {"default", "kube-system", "kube-public"} <= set(names)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team")))
    core.create_namespaced_secret(
        "team", client.V1Secret(metadata=client.V1ObjectMeta(name="key"), string_data={"k": "v"})
    )
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="hash"),
        spec=client.V1JobSpec(
            parallelism=2,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[client.V1Container(name="w", image="python", command=["true"])],
                )
            ),
        ),
    )
    created = batch.create_namespaced_job("team", job)
    assert created.spec.parallelism == 2 and created.spec.backoff_limit == 6
    assert created.spec.template.metadata.labels["job-name"] == "hash"
    patched = batch.patch_namespaced_job("hash", "team", {"spec": {"parallelism": 5}})
    assert patched.spec.parallelism == 5
    status = batch.patch_namespaced_job_status("hash", "team", {"status": {"active": 5}})
    assert status.status.active == 5
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="leader"),
        spec=client.V1LeaseSpec(holder_identity="me", lease_duration_seconds=15),
    )
    client.CoordinationV1Api(api_client).create_namespaced_lease("team", lease)
    got = client.CoordinationV1Api(api_client).read_namespaced_lease("leader", "team")
    assert got.spec.holder_identity == "me"


def test_pykube_objects_watch_and_conflict(devcluster: DevCluster, kubeconfig: Path) -> None:
    api = pykube.HTTPClient(pykube.KubeConfig.from_file(str(kubeconfig)))
    pykube.CustomResourceDefinition(api, yaml.safe_load(ENTRY_CRD.read_text())).create()
    Entry = pykube.object_factory(api, f"{GROUP}/{VERSION}", "GuestbookEntry")
    entry = Entry(api, {**_entry("py1"), "metadata": {"name": "py1", "namespace": "default"}})
    entry.create()
    stale = Entry.objects(api, namespace="default").get(name="py1")
    entry.labels["seen"] = "yes"
    entry.update()
    stale.labels["seen"] = "no"
    with pytest.raises(pykube.exceptions.HTTPError) as conflict:
        stale.update()
    assert conflict.value.code == 409
    fresh = Entry.objects(api, namespace="default").get(name="py1")
    assert fresh.labels["seen"] == "yes"
    assert [e.name for e in Entry.objects(api).filter(namespace="default")] == ["py1"]
    rv = fresh.metadata["resourceVersion"]
    fresh.delete()
    events = []
    for event in Entry.objects(api, namespace="default").watch(since=rv):
        events.append(event.type)
        if event.type == "DELETED":
            break
    assert events == ["DELETED"]
    cm = pykube.ConfigMap(
        api, {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}}
    )
    cm.create()
    assert pykube.ConfigMap.objects(api, namespace="default").get(name="c").obj["data"] == {
        "a": "1"
    }
