"""List and watch semantics: selectors, pagination, resume, 410 Gone, bookmarks, timeouts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster

pytestmark = pytest.mark.timeout(60)

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def api(devcluster: DevCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=devcluster.url, timeout=30) as client:
        yield client


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels or {}},
        "data": data,
    }


def _watch(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """All events of a watch that ends by its timeoutSeconds."""
    with api.stream("GET", path, params={"watch": "1", **params}) as response:
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]


def test_label_selectors(api: httpx.Client) -> None:
    api.post(CM, json=_cm("a", {"tier": "web", "env": "prod"})).raise_for_status()
    api.post(CM, json=_cm("b", {"tier": "db"})).raise_for_status()
    api.post(CM, json=_cm("c")).raise_for_status()

    def names(selector: str) -> list[str]:
        body = api.get(CM, params={"labelSelector": selector}).json()
        return [i["metadata"]["name"] for i in body["items"]]

    assert names("tier=web") == ["a"]
    assert names("tier==db") == ["b"]
    assert names("tier!=web") == ["b", "c"]
    assert names("tier in (web,db)") == ["a", "b"]
    assert names("tier notin (web)") == ["b", "c"]
    assert names("env") == ["a"]
    assert names("!env") == ["b", "c"]
    assert names("tier,!env") == ["b"]


def test_field_selectors(api: httpx.Client) -> None:
    api.post(CM, json=_cm("x")).raise_for_status()
    api.post(CM, json=_cm("y")).raise_for_status()
    body = api.get("/api/v1/configmaps", params={"fieldSelector": "metadata.name=y"}).json()
    assert [i["metadata"]["name"] for i in body["items"]] == ["y"]
    body = api.get(CM, params={"fieldSelector": "metadata.namespace!=default"}).json()
    assert body["items"] == []
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        # Bound to another node: the job runner's kubelet leaves it Pending.
        "spec": {"nodeName": "elsewhere", "containers": [{"name": "main", "image": "python"}]},
    }
    api.post("/api/v1/namespaces/default/pods", json=pod).raise_for_status()
    pending = api.get("/api/v1/pods", params={"fieldSelector": "status.phase=Pending"}).json()
    assert [i["metadata"]["name"] for i in pending["items"]] == ["p"]
    running = api.get("/api/v1/pods", params={"fieldSelector": "status.phase=Running"}).json()
    assert running["items"] == []


def test_limit_and_continue_walk_every_object_once(api: httpx.Client) -> None:
    for n in range(7):
        api.post(CM, json=_cm(f"item-{n}")).raise_for_status()
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        body = api.get(CM, params=params).json()
        seen += [i["metadata"]["name"] for i in body["items"]]
        pages += 1
        token = body["metadata"].get("continue")
        if not token:
            break
    assert seen == [f"item-{n}" for n in range(7)] and pages == 3


def test_filtered_pages_walk_every_match_once(api: httpx.Client) -> None:
    for n in range(9):
        api.post(CM, json=_cm(f"f-{n}", {"even": str(n % 2 == 0).lower()})).raise_for_status()
    seen: list[str] = []
    token = None
    while True:
        params = {
            "limit": "2",
            "labelSelector": "even=true",
            **({"continue": token} if token else {}),
        }
        body = api.get(CM, params=params).json()
        seen += [i["metadata"]["name"] for i in body["items"]]
        assert "remainingItemCount" not in body["metadata"]
        token = body["metadata"].get("continue")
        if not token:
            break
    assert seen == ["f-0", "f-2", "f-4", "f-6", "f-8"]
    other = api.get("/api/v1/namespaces/kube-system/configmaps", params={"limit": "1"}).json()
    assert other["items"] == []


def test_watch_from_now_then_resume(api: httpx.Client) -> None:
    first = api.post(CM, json=_cm("w1", v="1")).json()
    rv = first["metadata"]["resourceVersion"]
    api.put(f"{CM}/w1", json={**first, "data": {"v": "2"}}).raise_for_status()
    api.delete(f"{CM}/w1").raise_for_status()
    events = _watch(api, CM, resourceVersion=rv, timeoutSeconds="1")
    assert [e["type"] for e in events] == ["MODIFIED", "DELETED"]
    assert events[0]["object"]["data"] == {"v": "2"}
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    initial = _watch(api, CM, timeoutSeconds="1")
    assert initial == []


def test_watch_without_version_starts_with_added_events(api: httpx.Client) -> None:
    api.post(CM, json=_cm("s1")).raise_for_status()
    api.post(CM, json=_cm("s2")).raise_for_status()
    events = _watch(api, CM, timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "s1"),
        ("ADDED", "s2"),
    ]


def test_expired_resource_version_is_410_gone(api: httpx.Client) -> None:
    with (
        DevCluster(history_size=3) as small,
        httpx.Client(base_url=small.url, timeout=30) as client,
    ):
        created = client.post(CM, json=_cm("g", v="0")).json()
        for n in range(5):
            created = client.put(f"{CM}/g", json={**created, "data": {"v": str(n)}}).json()
        events = _watch(client, CM, resourceVersion="1", timeoutSeconds="1")
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"


def test_resource_version_from_the_future_is_410_gone(api: httpx.Client) -> None:
    events = _watch(api, CM, resourceVersion="999999", timeoutSeconds="1")
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 410


def test_selector_watch_sends_transitions(api: httpx.Client) -> None:
    obj = api.post(CM, json=_cm("t", {"color": "red"})).json()
    rv = obj["metadata"]["resourceVersion"]
    obj = api.put(
        f"{CM}/t", json={**obj, "metadata": {**obj["metadata"], "labels": {"color": "blue"}}}
    ).json()
    api.put(f"{CM}/t", json={**obj, "metadata": {**obj["metadata"], "labels": {"color": "red"}}})
    events = _watch(api, CM, resourceVersion=rv, labelSelector="color=red", timeoutSeconds="1")
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]


def test_bookmarks_when_allowed(api: httpx.Client) -> None:
    api.post(CM, json=_cm("bm")).raise_for_status()
    events = _watch(api, CM, allowWatchBookmarks="true", timeoutSeconds="3", resourceVersion=str(1))
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks, events
    assert bookmarks[0]["object"]["kind"] == "ConfigMap"
    assert int(bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= 1
    without = _watch(api, CM, timeoutSeconds="2", resourceVersion="1")
    assert all(e["type"] != "BOOKMARK" for e in without)


def test_send_initial_events_ends_with_marked_bookmark(api: httpx.Client) -> None:
    api.post(CM, json=_cm("ie")).raise_for_status()
    events = _watch(
        api,
        CM,
        sendInitialEvents="true",
        allowWatchBookmarks="true",
        resourceVersionMatch="NotOlderThan",
        timeoutSeconds="1",
    )
    assert events[0]["type"] == "ADDED"
    end = events[1]
    assert end["type"] == "BOOKMARK"
    assert end["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_watch_of_one_named_object(api: httpx.Client) -> None:
    first = api.post(CM, json=_cm("one")).json()
    api.post(CM, json=_cm("other")).raise_for_status()
    rv = first["metadata"]["resourceVersion"]
    api.delete(f"{CM}/other").raise_for_status()
    api.delete(f"{CM}/one").raise_for_status()
    events = _watch(api, f"{CM}/one", resourceVersion=rv, timeoutSeconds="1")
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("DELETED", "one")]


def test_metadata_only_representation(api: httpx.Client) -> None:
    api.post(CM, json=_cm("meta", {"a": "b"}, secret="x")).raise_for_status()
    accept = {"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}
    listed = api.get(CM, headers=accept).json()
    assert listed["kind"] == "PartialObjectMetadataList"
    assert listed["items"][0]["metadata"]["labels"] == {"a": "b"}
    assert "data" not in listed["items"][0]
    one = api.get(
        f"{CM}/meta",
        headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
    ).json()
    assert one["kind"] == "PartialObjectMetadata" and "data" not in one
