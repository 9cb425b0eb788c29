"""A write naming another ``metadata.uid`` than the stored object's is refused as
kube-apiserver refuses it: an update (PUT) with 409 Conflict (the uid is a
precondition), a patch with 422 Invalid (the uid is immutable); a patch of a
custom resource's status ignores the uid, so a JSON patch ``test`` guards it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from devcluster_manifests import ENTRY_CRD
from guestbook_devcluster.cluster import DevCluster

pytestmark = pytest.mark.timeout(60)

ENTRIES = "/apis/ledger.guestbook.io/v1alpha1/namespaces/default/guestbookentries"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
CM = "/api/v1/namespaces/default/configmaps"
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
OTHER_UID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def api(devcluster: DevCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=devcluster.url, timeout=30) as client:
        crd = yaml.safe_load(ENTRY_CRD.read_text())
        client.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd
        ).raise_for_status()
        yield client


def _create_entry(api: httpx.Client, name: str) -> dict[str, Any]:
    entry = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": name},
        "spec": {"author": "alice", "message": "hi"},
    }
    created = api.post(ENTRIES, json=entry)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _failure(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status" and body["reason"] == reason and body["code"] == code
    return body


def _precondition_message(resource: str, name: str, wanted: str, stored: str) -> str:
    return (
        f'Operation cannot be fulfilled on {resource} "{name}": Precondition failed: '
        f"UID in precondition: {wanted}, UID in object meta: {stored}"
    )


def test_update_with_another_uid_is_a_conflict_and_changes_nothing(api: httpx.Client) -> None:
    stored = _create_entry(api, "e")
    uid = stored["metadata"]["uid"]
    changed = {**stored, "metadata": {**stored["metadata"], "uid": OTHER_UID, "labels": {"a": "b"}}}
    body = _failure(api.put(f"{ENTRIES}/e", json=changed), 409, "Conflict")
    assert body["message"] == _precondition_message(
        "guestbookentries.ledger.guestbook.io", "e", OTHER_UID, uid
    )
    # The precondition is checked before the resourceVersion is.
    stale = {**changed, "metadata": {**changed["metadata"], "resourceVersion": "1"}}
    body = _failure(api.put(f"{ENTRIES}/e", json=stale), 409, "Conflict")
    assert "UID in precondition" in body["message"]
    assert api.get(f"{ENTRIES}/e").json() == stored

    # A PUT to /status carries the same precondition.
    status = {**changed, "status": {"phase": "Pending"}}
    body = _failure(api.put(f"{ENTRIES}/e/status", json=status), 409, "Conflict")
    assert "UID in precondition" in body["message"]
    assert api.get(f"{ENTRIES}/e").json() == stored

    # The same uid, or none, is no obstacle; the stored uid stays.
    same = {**stored, "metadata": {**stored["metadata"], "labels": {"a": "b"}}}
    assert api.put(f"{ENTRIES}/e", json=same).json()["metadata"]["uid"] == uid
    latest = api.get(f"{ENTRIES}/e").json()
    del latest["metadata"]["uid"]
    latest["metadata"]["labels"] = {"a": "c"}
    updated = api.put(f"{ENTRIES}/e", json=latest).json()
    assert updated["metadata"]["uid"] == uid and updated["metadata"]["labels"] == {"a": "c"}


def test_update_of_a_missing_object_with_a_uid_is_a_conflict(api: httpx.Client) -> None:
    cm: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gone", "uid": OTHER_UID},
    }
    body = _failure(api.put(f"{CM}/gone", json=cm), 409, "Conflict")
    assert body["message"] == _precondition_message("configmaps", "gone", OTHER_UID, "")
    del cm["metadata"]["uid"]
    _failure(api.put(f"{CM}/gone", json=cm), 404, "NotFound")


def test_patch_changing_the_uid_is_invalid_and_changes_nothing(api: httpx.Client) -> None:
    stored = _create_entry(api, "p")
    uid = stored["metadata"]["uid"]
    merge = {"metadata": {"uid": OTHER_UID, "labels": {"a": "b"}}}
    body = _failure(api.patch(f"{ENTRIES}/p", json=merge, headers=MERGE), 422, "Invalid")
    assert body["message"] == (
        'GuestbookEntry.ledger.guestbook.io "p" is invalid: '
        f'metadata.uid: Invalid value: "{OTHER_UID}": field is immutable'
    )
    assert body["details"]["causes"][0]["field"] == "metadata.uid"
    replace = [{"op": "replace", "path": "/metadata/uid", "value": OTHER_UID}]
    _failure(api.patch(f"{ENTRIES}/p", json=replace, headers=JSON_PATCH), 422, "Invalid")
    assert api.get(f"{ENTRIES}/p").json() == stored

    # Removing the uid in a patch keeps the stored one.
    cleared = {"metadata": {"uid": None, "labels": {"a": "b"}}}
    patched = api.patch(f"{ENTRIES}/p", json=cleared, headers=MERGE).json()
    assert patched["metadata"]["uid"] == uid and patched["metadata"]["labels"] == {"a": "b"}


def test_status_patch_of_a_custom_resource_ignores_the_uid(api: httpx.Client) -> None:
    uid = _create_entry(api, "s")["metadata"]["uid"]
    merge = {"metadata": {"uid": OTHER_UID}, "status": {"phase": "Pending"}}
    patched = api.patch(f"{ENTRIES}/s/status", json=merge, headers=MERGE)
    assert patched.status_code == 200, patched.text
    assert patched.json()["metadata"]["uid"] == uid
    assert patched.json()["status"] == {"phase": "Pending"}

    # What the workers send: a JSON patch whose ``test`` guards the uid.
    before = api.get(f"{ENTRIES}/s").json()
    guarded: list[dict[str, Any]] = [
        {"op": "test", "path": "/metadata/uid", "value": OTHER_UID},
        {"op": "add", "path": "/status", "value": {"phase": "Hashing"}},
    ]
    _failure(api.patch(f"{ENTRIES}/s/status", json=guarded, headers=JSON_PATCH), 422, "Invalid")
    assert api.get(f"{ENTRIES}/s").json() == before
    guarded[0]["value"] = uid
    written = api.patch(f"{ENTRIES}/s/status", json=guarded, headers=JSON_PATCH)
    assert written.status_code == 200 and written.json()["status"] == {"phase": "Hashing"}


def test_status_patch_of_a_builtin_refuses_another_uid(api: httpx.Client) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "python"}]}}},
    }
    api.post(JOBS, json=job).raise_for_status()
    merge = {"metadata": {"uid": OTHER_UID}, "status": {"active": 3}}
    body = _failure(api.patch(f"{JOBS}/j/status", json=merge, headers=MERGE), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.uid"
    assert api.get(f"{JOBS}/j").json().get("status", {}).get("active") != 3
