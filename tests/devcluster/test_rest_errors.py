"""Every failure is a Kubernetes Status with the right code and reason; bad input changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from guestbook_devcluster.cluster import DevCluster

pytestmark = pytest.mark.timeout(60)

CM = "/api/v1/namespaces/default/configmaps"


def _status(response: httpx.Response, code: int, reason: str) -> dict[str, Any]:
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert body["kind"] == "Status" and body["apiVersion"] == "v1"
    assert body["status"] == "Failure" and body["code"] == code and body["reason"] == reason
    assert body["message"]
    return body


@pytest.fixture
def api(devcluster: DevCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=devcluster.url, timeout=10) as client:
        yield client


def _configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_not_found_names_the_object(api: httpx.Client) -> None:
    body = _status(api.get(f"{CM}/missing"), 404, "NotFound")
    assert body["details"] == {"name": "missing", "kind": "configmaps"}
    assert body["message"] == 'configmaps "missing" not found'


def test_unknown_resource_and_path(api: httpx.Client) -> None:
    _status(api.get("/api/v1/widgets"), 404, "NotFound")
    _status(api.get("/apis/nowhere.example.com/v1/things"), 404, "NotFound")
    _status(api.get("/not/an/api/path"), 404, "NotFound")


def test_already_exists_and_conflict(api: httpx.Client) -> None:
    created = api.post(CM, json=_configmap("a", x="1"))
    assert created.status_code == 201
    _status(api.post(CM, json=_configmap("a", x="2")), 409, "AlreadyExists")
    stale = created.json()
    api.put(f"{CM}/a", json={**stale, "data": {"x": "2"}}).raise_for_status()
    body = _status(api.put(f"{CM}/a", json={**stale, "data": {"x": "3"}}), 409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert api.get(f"{CM}/a").json()["data"] == {"x": "2"}


def test_malformed_bodies_change_nothing(api: httpx.Client) -> None:
    api.post(CM, json=_configmap("b", x="1")).raise_for_status()
    before = api.get(f"{CM}/b").json()
    headers = {"Content-Type": "application/json"}
    _status(api.post(CM, content=b"{not json", headers=headers), 400, "BadRequest")
    _status(api.put(f"{CM}/b", content=b"[1, 2]", headers=headers), 400, "BadRequest")
    merge = {"Content-Type": "application/merge-patch+json"}
    _status(api.patch(f"{CM}/b", content=b"{oops", headers=merge), 400, "BadRequest")
    _status(
        api.patch(f"{CM}/b", content=b'{"data":{"x":"9"}}', headers={"Content-Type": "text/plain"}),
        415,
        "UnsupportedMediaType",
    )
    json_patch = {"Content-Type": "application/json-patch+json"}
    failing = (
        b'[{"op":"replace","path":"/data/x","value":"9"},'
        b'{"op":"test","path":"/data/x","value":"0"}]'
    )
    _status(api.patch(f"{CM}/b", content=failing, headers=json_patch), 422, "Invalid")
    assert api.get(f"{CM}/b").json() == before


def test_method_not_allowed_and_bad_selectors(api: httpx.Client) -> None:
    _status(api.post(f"{CM}/b", json=_configmap("b")), 405, "MethodNotAllowed")
    body = _status(api.get(CM, params={"fieldSelector": "spec.nothing=1"}), 400, "BadRequest")
    assert "field label not supported" in body["message"]
    _status(api.get(CM, params={"labelSelector": "a in (b"}), 400, "BadRequest")


def test_missing_namespace_and_terminating_namespace(api: httpx.Client) -> None:
    missing = api.post("/api/v1/namespaces/ghost/configmaps", json=_configmap("c"))
    body = _status(missing, 404, "NotFound")
    assert body["message"] == 'namespaces "ghost" not found'
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "closing"}}
    api.post("/api/v1/namespaces", json=ns).raise_for_status()
    held = {**_configmap("held"), "metadata": {"name": "held", "finalizers": ["test/hold"]}}
    api.post("/api/v1/namespaces/closing/configmaps", json=held).raise_for_status()
    assert api.delete("/api/v1/namespaces/closing").status_code in (200, 202)
    assert api.get("/api/v1/namespaces/closing").json()["status"]["phase"] == "Terminating"
    refused = api.post("/api/v1/namespaces/closing/configmaps", json=_configmap("late"))
    _status(refused, 403, "Forbidden")
    api.patch(
        "/api/v1/namespaces/closing/configmaps/held",
        content=b'{"metadata":{"finalizers":null}}',
        headers={"Content-Type": "application/merge-patch+json"},
    ).raise_for_status()
    _status(api.get("/api/v1/namespaces/closing"), 404, "NotFound")


def test_invalid_object_lists_causes(api: httpx.Client) -> None:
    body = _status(api.post(CM, json=_configmap("Not_Valid")), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    body = _status(api.post(CM, json=nameless), 422, "Invalid")
    assert "name or generateName is required" in body["message"]


def test_generate_name(api: httpx.Client) -> None:
    generated = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "run-"}}
    first = api.post(CM, json=generated).json()["metadata"]["name"]
    second = api.post(CM, json=generated).json()["metadata"]["name"]
    assert first.startswith("run-") and second.startswith("run-") and first != second


def test_builtin_kinds_are_validated_like_a_real_cluster(api: httpx.Client) -> None:
    pods = "/api/v1/namespaces/default/pods"
    no_image = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "main"}, {"name": "main", "image": "x"}]},
    }
    body = _status(api.post(pods, json=no_image), 422, "Invalid")
    fields = [c["field"] for c in body["details"]["causes"]]
    assert fields == ["spec.containers[0].image", "spec.containers[1].name"]
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    always = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {
            "parallelism": -1,
            "template": {
                "spec": {"restartPolicy": "Always", "containers": [{"name": "m", "image": "x"}]}
            },
        },
    }
    body = _status(api.post(jobs, json=always), 422, "Invalid")
    fields = [c["field"] for c in body["details"]["causes"]]
    assert fields == ["spec.template.spec.restartPolicy", "spec.parallelism"]
    frozen = {**_configmap("frozen", a="1"), "immutable": True}
    api.post(CM, json=frozen).raise_for_status()
    merge = {"Content-Type": "application/merge-patch+json"}
    changed = api.patch(f"{CM}/frozen", content=b'{"data":{"a":"2"}}', headers=merge)
    _status(changed, 422, "Invalid")
    assert api.get(f"{CM}/frozen").json()["data"] == {"a": "1"}


def test_malformed_metadata_and_values_are_refused_before_anything_is_stored(
    api: httpx.Client,
) -> None:
    rv_before = api.get(CM).json()["metadata"]["resourceVersion"]
    owners = {**_configmap("o"), "metadata": {"name": "o", "ownerReferences": ["nope"]}}
    body = _status(api.post(CM, json=owners), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.ownerReferences[0]"
    labels = {**_configmap("l"), "metadata": {"name": "l", "labels": {"a": 1}}}
    _status(api.post(CM, json=labels), 400, "BadRequest")
    huge = (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: h}\n"
        b"data: {a: 123456789012345678901234567890}\n"
    )
    applied = api.patch(
        f"{CM}/h",
        params={"fieldManager": "test"},
        content=huge,
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    _status(applied, 400, "BadRequest")
    after = api.get(CM).json()
    assert after["items"] == [] and after["metadata"]["resourceVersion"] == rv_before


def test_label_keys_and_values_are_validated(api: httpx.Client) -> None:
    bad = {
        **_configmap("labelled"),
        "metadata": {
            "name": "labelled",
            "labels": {"ok": "fine", "team": "has spaces", "Bad_Prefix/x": "v"},
            "annotations": {"note/with/two-slashes": "x"},
        },
    }
    body = _status(api.post(CM, json=bad), 422, "Invalid")
    fields = sorted(c["field"] for c in body["details"]["causes"])
    assert fields == ["metadata.annotations", "metadata.labels", "metadata.labels"]
    good = {
        **_configmap("labelled"),
        "metadata": {"name": "labelled", "labels": {"app.kubernetes.io/name": "guestbook-ledger"}},
    }
    assert api.post(CM, json=good).status_code == 201


def test_a_body_without_content_type_is_read_as_json(api: httpx.Client) -> None:
    # kube-apiserver treats a missing Content-Type as JSON; the `kubernetes` client
    # (37) and pykube send none on create and replace.
    created = api.post(CM, content=orjson.dumps(_configmap("plain", x="1")))
    assert "content-type" not in created.request.headers
    assert created.status_code == 201, created.text
    replaced = api.put(f"{CM}/plain", content=orjson.dumps({**created.json(), "data": {"x": "2"}}))
    assert "content-type" not in replaced.request.headers
    assert replaced.status_code == 200, replaced.text
    assert api.get(f"{CM}/plain").json()["data"] == {"x": "2"}
    # Read as JSON means refused as malformed JSON, not as an unknown media type.
    _status(api.post(CM, content=b"data: {x: 1}"), 400, "BadRequest")


def test_warnings_about_unknown_fields_with_any_characters_are_plain_ascii(
    api: httpx.Client,
) -> None:
    # Header values must be printable ASCII: a field named with other characters is
    # warned about with escapes instead of failing the write.
    body = {**_configmap("odd", x="1"), "caf\u00e9\U00034f86\x06": 1}
    created = api.post(CM, json=body)
    assert created.status_code == 201, created.text
    assert created.headers["warning"] == (
        '299 - "unknown field \\"caf\\\\xe9\\\\U00034f86\\\\x06\\""'
    )
    assert "caf\u00e9\U00034f86\x06" not in api.get(f"{CM}/odd").json()
