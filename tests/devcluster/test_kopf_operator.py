"""A real Kopf operator (default settings: resource scanning, peering auto-detection)
runs against the local API server: create/update/delete/timer handlers, finalizers,
status patches and events."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import kopf
import pytest
from guestbook_devcluster.cluster import DevCluster
from kopf.testing import KopfRunner

pytestmark = pytest.mark.timeout(180)

OPERATOR = Path(__file__).parent / "kopf_operator" / "greetings.py"
GREETINGS = "/apis/kopf.devcluster.test/v1/namespaces/default/greetings"
MERGE = {"Content-Type": "application/merge-patch+json"}

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "greetings.kopf.devcluster.test"},
    "spec": {
        "group": "kopf.devcluster.test",
        "scope": "Namespaced",
        "names": {"kind": "Greeting", "plural": "greetings", "singular": "greeting"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {"message": {"type": "string"}},
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}


def _eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kopf_operator_handles_the_whole_lifecycle(
    devcluster: DevCluster, kubeconfig: Path
) -> None:
    api = httpx.Client(base_url=devcluster.url, timeout=30)
    api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD)
    # A registry of its own: handlers that other tests imported into Kopf's global
    # registry (the guestbook operator's) must not run in this operator.
    with KopfRunner(
        ["run", "--all-namespaces", "--verbose", str(OPERATOR)],
        timeout=120,
        registry=kopf.OperatorRegistry(),
    ) as runner:
        greeting = {
            "apiVersion": "kopf.devcluster.test/v1",
            "kind": "Greeting",
            "metadata": {"name": "hi"},
            "spec": {"message": "world"},
        }
        assert api.post(GREETINGS, json=greeting).status_code == 201

        def status() -> dict[str, Any]:
            found: dict[str, Any] = api.get(f"{GREETINGS}/hi").json().get("status", {})
            return found

        created = _eventually(lambda: status().get("phase") == "Greeted" and status(), "create")
        assert created["greet"] == {"length": 5}
        finalizers = api.get(f"{GREETINGS}/hi").json()["metadata"]["finalizers"]
        assert finalizers == ["kopf.zalando.org/KopfFinalizerMarker"]

        events = _eventually(
            lambda: [
                e
                for e in api.get(
                    "/api/v1/namespaces/default/events",
                    params={"fieldSelector": "involvedObject.name=hi"},
                ).json()["items"]
                if e["reason"] == "Greeted"
            ],
            "the Greeted event",
        )
        assert events[0]["message"] == "hello world"
        assert events[0]["involvedObject"]["kind"] == "Greeting"

        api.patch(f"{GREETINGS}/hi", content=b'{"spec":{"message":"again"}}', headers=MERGE)
        _eventually(lambda: status().get("lastMessage") == "again", "the update handler")
        _eventually(lambda: int(status().get("ticks") or 0) >= 2, "two timer ticks")

        assert api.delete(f"{GREETINGS}/hi").status_code == 202  # held by Kopf's finalizer
        _eventually(lambda: api.get(f"{GREETINGS}/hi").status_code == 404, "deletion")
        farewell = api.get("/api/v1/namespaces/default/configmaps/farewell-hi")
        assert farewell.status_code == 200
    api.close()
    assert runner.exception is None, runner.exception
    assert runner.exit_code == 0
    assert "failed with an exception" not in runner.output  # every handler succeeded at once
