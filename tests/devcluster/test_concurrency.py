"""Many clients at once: no write is lost or applied twice; watchers see every change in order."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.logs import LogRequest

pytestmark = pytest.mark.timeout(120)

CM = "/api/v1/namespaces/default/configmaps"
WRITERS, INCREMENTS = 6, 40


def _increment(url: str) -> None:
    """Add one to the counter with optimistic concurrency (retry on 409 Conflict)."""
    with httpx.Client(base_url=url, timeout=30) as api:
        for _ in range(INCREMENTS):
            while True:
                current = api.get(f"{CM}/counter").json()
                current["data"]["n"] = str(int(current["data"]["n"]) + 1)
                response = api.put(f"{CM}/counter", json=current)
                if response.status_code == 200:
                    break
                assert response.status_code == 409, response.text


def test_concurrent_updates_are_serialised_and_watched_in_order(devcluster: DevCluster) -> None:
    api = httpx.Client(base_url=devcluster.url, timeout=30)
    created = api.post(
        CM,
        json={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "counter"},
            "data": {"n": "0"},
        },
    ).json()
    start_rv = created["metadata"]["resourceVersion"]
    writers = [threading.Thread(target=_increment, args=(devcluster.url,)) for _ in range(WRITERS)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(100)
    total = WRITERS * INCREMENTS
    assert api.get(f"{CM}/counter").json()["data"]["n"] == str(total)
    events: list[dict[str, Any]] = []
    params = {"watch": "1", "resourceVersion": start_rv, "timeoutSeconds": "2"}
    with api.stream("GET", CM, params=params) as stream:
        events = [json.loads(line) for line in stream.iter_lines() if line]
    api.close()
    values = [int(e["object"]["data"]["n"]) for e in events]
    assert values == list(range(1, total + 1))  # each increment once, in order
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == total


class _Greeting:
    """A LogSource like the job runner's: a fixed output per container."""

    async def stream(self, request: LogRequest, pod: dict[str, Any]) -> AsyncIterator[bytes]:
        yield f"hello from {request.namespace}/{request.pod}/{request.container}\n".encode()
        if request.follow:
            yield b"more\n"


def test_pod_log_reads_the_installed_log_source(devcluster: DevCluster) -> None:
    devcluster.logs = _Greeting()
    pods = "/api/v1/namespaces/default/pods"
    with httpx.Client(base_url=devcluster.url, timeout=30) as api:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "talker"},
            "spec": {
                "nodeName": "elsewhere",  # not run by the job runner's kubelet
                "containers": [{"name": "a", "image": "python"}, {"name": "b", "image": "python"}],
            },
        }
        api.post(pods, json=pod).raise_for_status()
        ask = api.get(f"{pods}/talker/log")
        assert ask.status_code == 400 and "choose one of: [a b]" in ask.json()["message"]
        log = api.get(f"{pods}/talker/log", params={"container": "b"})
        assert log.status_code == 200 and log.text == "hello from default/talker/b\n"
        follow = api.get(f"{pods}/talker/log", params={"container": "a", "follow": "true"})
        assert follow.text == "hello from default/talker/a\nmore\n"
        assert api.get(f"{pods}/ghost/log").status_code == 404
