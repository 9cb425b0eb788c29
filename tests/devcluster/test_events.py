"""core/v1 and events.k8s.io/v1 Events are two views of the same objects."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(60)

CORE = "/api/v1/namespaces/default/events"
NEW = "/apis/events.k8s.io/v1/namespaces/default/events"


@pytest.fixture
def api(devcluster: DevCluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=devcluster.url, timeout=30) as client:
        yield client


def test_an_event_written_in_one_version_is_read_in_the_other(
    api: httpx.Client, kubectl: Kubectl
) -> None:
    new_style = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": "sealed.1"},
        "eventTime": "2026-01-01T00:00:00.000000Z",
        "reportingController": "guestbook.io/worker",
        "reportingInstance": "worker-1",
        "action": "Seal",
        "reason": "Sealed",
        "note": "entry appended to the ledger",
        "type": "Normal",
        "regarding": {"kind": "GuestbookEntry", "name": "hello", "namespace": "default"},
    }
    assert api.post(NEW, json=new_style).status_code == 201
    core = api.get(f"{CORE}/sealed.1").json()
    assert core["apiVersion"] == "v1"
    assert core["involvedObject"]["name"] == "hello"
    assert core["message"] == "entry appended to the ledger"
    assert core["reportingComponent"] == "guestbook.io/worker"
    old_style = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "admitted.1"},
        "involvedObject": {"kind": "GuestbookEntry", "name": "hello", "namespace": "default"},
        "reason": "Admitted",
        "message": "recorded",
        "type": "Normal",
        "count": 2,
        "source": {"component": "guestbook-operator"},
    }
    assert api.post(CORE, json=old_style).status_code == 201
    seen = api.get(f"{NEW}/admitted.1").json()
    assert seen["apiVersion"] == "events.k8s.io/v1"
    assert seen["regarding"]["name"] == "hello" and seen["note"] == "recorded"
    assert seen["deprecatedCount"] == 2 and seen["reportingController"] == "guestbook-operator"
    selected = api.get(NEW, params={"fieldSelector": "reason=Sealed"}).json()
    assert [e["metadata"]["name"] for e in selected["items"]] == ["sealed.1"]
    listed = json.loads(kubectl("get", "events.v1.events.k8s.io", "-o", "json"))
    assert sorted(e["metadata"]["name"] for e in listed["items"]) == ["admitted.1", "sealed.1"]
    assert "entry appended to the ledger" in kubectl("get", "events")
    merge = {"Content-Type": "application/merge-patch+json"}
    api.patch(f"{NEW}/sealed.1", content=b'{"note":"changed"}', headers=merge).raise_for_status()
    assert api.get(f"{CORE}/sealed.1").json()["message"] == "changed"
    with api.stream("GET", NEW, params={"watch": "1", "timeoutSeconds": "1"}) as stream:
        events = [json.loads(line) for line in stream.iter_lines() if line]
    assert {e["object"]["apiVersion"] for e in events} == {"events.k8s.io/v1"}
    api.delete(f"{NEW}/admitted.1").raise_for_status()
    assert api.get(f"{CORE}/admitted.1").status_code == 404
