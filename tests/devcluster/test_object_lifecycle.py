"""Object semantics: generation, status subresource, finalizers, cascading deletion, CRD removal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from devcluster_manifests import ENTRY_CRD
from guestbook_devcluster.cluster import DevCluster

pytestmark = pytest.mark.timeout(60)

NS = "/api/v1/namespaces/default"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
ENTRIES = "/apis/ledger.guestbook.io/v1alpha1/namespaces/default/guestbookentries"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def api(devcluster: DevCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=devcluster.url, timeout=30) as client:
        yield client


def _eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "python"}]}}},
    }


def _owned_pod(
    name: str, owner: dict[str, Any], finalizers: list[str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if finalizers:
        meta["finalizers"] = finalizers
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "m", "image": "python"}]},
    }


def _exists(api: httpx.Client, path: str) -> bool:
    return api.get(path).status_code == 200


def test_generation_counts_spec_changes_only(api: httpx.Client) -> None:
    job = api.post(JOBS, json=_job("gen")).json()
    assert job["metadata"]["generation"] == 1
    labelled = api.patch(f"{JOBS}/gen", content=b'{"metadata":{"labels":{"a":"b"}}}', headers=MERGE)
    assert labelled.json()["metadata"]["generation"] == 1
    scaled = api.patch(f"{JOBS}/gen", content=b'{"spec":{"parallelism":4}}', headers=MERGE)
    assert scaled.json()["metadata"]["generation"] == 2
    status = api.patch(f"{JOBS}/gen/status", content=b'{"status":{"active":2}}', headers=MERGE)
    assert status.json()["metadata"]["generation"] == 2
    assert status.json()["status"]["active"] == 2


def test_main_resource_ignores_status_and_status_ignores_spec(api: httpx.Client) -> None:
    api.post(JOBS, json=_job("split")).raise_for_status()
    main = api.patch(f"{JOBS}/split", content=b'{"status":{"active":9}}', headers=MERGE).json()
    assert main.get("status", {}).get("active") != 9  # (the job runner may set its own)
    sub = api.patch(
        f"{JOBS}/split/status",
        content=b'{"spec":{"parallelism":7},"status":{"succeeded":1}}',
        headers=MERGE,
    ).json()
    assert sub["spec"]["parallelism"] == 1 and sub["status"]["succeeded"] == 1


def test_noop_patch_keeps_resource_version(api: httpx.Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "same"}, "data": {"a": "1"}}
    created = api.post(f"{NS}/configmaps", json=cm).json()
    again = api.patch(f"{NS}/configmaps/same", content=b'{"data":{"a":"1"}}', headers=MERGE)
    assert again.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_background_deletion_removes_dependents(api: httpx.Client) -> None:
    job = api.post(JOBS, json=_job("bg")).json()
    api.post(f"{NS}/pods", json=_owned_pod("bg-1", job)).raise_for_status()
    api.request("DELETE", f"{JOBS}/bg", json={"propagationPolicy": "Background"}).raise_for_status()
    _eventually(lambda: not _exists(api, f"{NS}/pods/bg-1"))
    assert not _exists(api, f"{JOBS}/bg")


def test_job_deletion_without_policy_orphans_pods(api: httpx.Client) -> None:
    job = api.post(JOBS, json=_job("orph")).json()
    api.post(f"{NS}/pods", json=_owned_pod("orph-1", job)).raise_for_status()
    api.delete(f"{JOBS}/orph").raise_for_status()
    pod = api.get(f"{NS}/pods/orph-1").json()
    assert "ownerReferences" not in pod["metadata"]


def test_foreground_deletion_waits_for_dependents(api: httpx.Client) -> None:
    job = api.post(JOBS, json=_job("fg")).json()
    api.post(f"{NS}/pods", json=_owned_pod("fg-1", job, ["test/hold"])).raise_for_status()
    response = api.request("DELETE", f"{JOBS}/fg", json={"propagationPolicy": "Foreground"})
    assert response.status_code == 202
    owner = api.get(f"{JOBS}/fg").json()
    assert "foregroundDeletion" in owner["metadata"]["finalizers"]
    assert owner["metadata"]["deletionTimestamp"]
    assert api.get(f"{NS}/pods/fg-1").json()["metadata"]["deletionTimestamp"]
    api.patch(f"{NS}/pods/fg-1", content=b'{"metadata":{"finalizers":null}}', headers=MERGE)
    _eventually(lambda: not _exists(api, f"{JOBS}/fg"))


def test_finalizers_hold_deletion_and_cannot_be_added_while_deleting(api: httpx.Client) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "fin", "finalizers": ["a/b"]},
    }
    api.post(f"{NS}/configmaps", json=cm).raise_for_status()
    assert api.delete(f"{NS}/configmaps/fin").status_code == 202
    late = api.patch(
        f"{NS}/configmaps/fin", content=b'{"metadata":{"finalizers":["a/b","c/d"]}}', headers=MERGE
    )
    assert late.status_code == 422
    api.patch(f"{NS}/configmaps/fin", content=b'{"metadata":{"finalizers":[]}}', headers=MERGE)
    assert not _exists(api, f"{NS}/configmaps/fin")


def test_crd_delete_removes_resource_and_objects(api: httpx.Client) -> None:
    crd = yaml.safe_load(ENTRY_CRD.read_text())
    created = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
    assert created.status_code == 201
    entry = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "e"},
        "spec": {"message": "hi"},
    }
    assert api.post(ENTRIES, json=entry).status_code == 201
    api.delete(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
        "guestbookentries.ledger.guestbook.io"
    ).raise_for_status()
    _eventually(lambda: api.get(ENTRIES).status_code == 404)
    groups = api.get("/apis").json()["groups"]
    assert "ledger.guestbook.io" not in [g["name"] for g in groups]


def test_dry_run_changes_nothing(api: httpx.Client) -> None:
    job = _job("dry")
    answer = api.post(JOBS, params={"dryRun": "All"}, json=job)
    assert answer.status_code == 201 and answer.json()["metadata"]["name"] == "dry"
    assert not _exists(api, f"{JOBS}/dry")
    api.post(JOBS, json=job).raise_for_status()
    before = api.get(f"{JOBS}/dry").json()
    patched = api.patch(
        f"{JOBS}/dry",
        params={"dryRun": "All"},
        content=b'{"spec":{"parallelism":9}}',
        headers=MERGE,
    )
    assert patched.json()["spec"]["parallelism"] == 9
    api.request("DELETE", f"{JOBS}/dry", params={"dryRun": "All"}).raise_for_status()
    after = api.get(f"{JOBS}/dry").json()  # (the job runner may have written its status)
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert "deletionTimestamp" not in after["metadata"]


def test_delete_collection_with_selector(api: httpx.Client) -> None:
    for name, team in (("c1", "red"), ("c2", "red"), ("c3", "blue")):
        cm = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"team": team}},
        }
        api.post(f"{NS}/configmaps", json=cm).raise_for_status()
    deleted = api.request("DELETE", f"{NS}/configmaps", params={"labelSelector": "team=red"})
    assert sorted(i["metadata"]["name"] for i in deleted.json()["items"]) == ["c1", "c2"]
    left = api.get(f"{NS}/configmaps").json()["items"]
    assert [i["metadata"]["name"] for i in left] == ["c3"]


def test_create_refuses_a_resource_version(api: httpx.Client) -> None:
    job = _job("versioned")
    job["metadata"]["resourceVersion"] = "5"
    refused = api.post(JOBS, json=job)
    assert refused.status_code == 400
    assert "resourceVersion should not be set" in refused.json()["message"]


def test_namespace_finalize_subresource_releases_a_stuck_namespace(api: httpx.Client) -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "stuck"}}
    api.post("/api/v1/namespaces", json=ns).raise_for_status()
    held = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "held", "finalizers": ["test/hold"]},
    }
    api.post("/api/v1/namespaces/stuck/configmaps", json=held).raise_for_status()
    api.delete("/api/v1/namespaces/stuck").raise_for_status()
    stuck = api.get("/api/v1/namespaces/stuck").json()
    assert stuck["spec"]["finalizers"] == ["kubernetes"]
    stuck["spec"]["finalizers"] = []
    released = api.put("/api/v1/namespaces/stuck/finalize", json=stuck)
    assert released.status_code == 200
    assert api.get("/api/v1/namespaces/stuck").status_code == 404
