"""``GET /events`` streams the entries live: a snapshot first, then every creation,
status change and deletion, as Server-Sent Events (one shared watch behind it)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from guestbook_localcluster.kubectl import Kubectl
from starlette.applications import Starlette
from webui_server import serve

EVENT_TIMEOUT = 60.0


def sse_events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs from an event stream; comments and retry lines skipped."""
    event, data = "message", list[str]()
    for line in response.iter_lines():
        if line.startswith(":"):
            yield "comment", {}
        elif line == "":
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", list[str]()
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())


def next_event(events: Iterator[tuple[str, Any]], kind: str, name: str) -> Any:
    """The next event of ``kind`` about entry ``name`` (others are skipped); fails
    after EVENT_TIMEOUT seconds (heartbeats arrive at least every 15 s)."""
    deadline = time.monotonic() + EVENT_TIMEOUT
    for event, data in events:
        if event == kind and data.get("name") == name:
            return data
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"no {kind} event for {name} within {EVENT_TIMEOUT:.0f}s")


def entry_manifest(name: str, message: str) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"author": "Kim", "message": message},
        }
    )


def test_the_stream_follows_entries_from_kubectl(
    make_app: Callable[..., Starlette], kubectl: Kubectl
) -> None:
    kubectl("apply", "-f", "-", input=entry_manifest("before", "already here"))
    with serve(make_app()) as url, httpx.Client(base_url=url, timeout=EVENT_TIMEOUT) as http:
        with http.stream("GET", "/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response)

            # Until the web UI has its first list, it says so in SSE comments.
            kind, snapshot = next(events)
            while kind == "comment":
                kind, snapshot = next(events)
            assert kind == "snapshot"
            assert [item["name"] for item in snapshot["items"]] == ["before"]
            assert snapshot["items"][0]["spec"]["message"] == "already here"

            kubectl("apply", "-f", "-", input=entry_manifest("after", "arrives live"))
            created = next_event(events, "entry", "after")
            assert created["spec"]["message"] == "arrives live"
            assert created["status"] == {"phase": "Pending"}  # the CRD's default (0097)

            status = {"phase": "Sealed", "leafIndex": 0, "leafHash": "ef" * 32, "treeSize": 1}
            kubectl("patch", "gbe", "after", "--subresource=status", "--type=merge",
                 "-p", json.dumps({"status": status}))  # fmt: skip
            sealed = next_event(events, "entry", "after")
            while sealed["status"].get("phase") != "Sealed":
                sealed = next_event(events, "entry", "after")
            assert sealed["status"]["leafHash"] == "ef" * 32

            kubectl("delete", "gbe", "before")
            deleted = next_event(events, "deleted", "before")
            assert deleted["uid"]

        assert [item["name"] for item in http.get("/api/entries").json()["items"]] == ["after"]
