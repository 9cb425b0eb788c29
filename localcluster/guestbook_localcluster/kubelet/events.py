"""Kubernetes Events from the kubelet (`kubectl describe pod`).

Events are best effort, as in Kubernetes: they are queued and sent by one
background task, so recording one never delays a pod or a Job, and a failed
send is dropped rather than retried forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from guestbook_kube.client import CALL_ERRORS, ApiClient, Obj, resource_path

from .pod_status import now_rfc3339

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # events beyond this are dropped (a flood helps nobody)


class EventRecorder:
    """Records core/v1 Events as ``component`` (``kubelet``) on node ``host``."""

    def __init__(self, client: ApiClient, component: str, host: str | None = None) -> None:
        self._client = client
        self._source: Obj = {"component": component}
        if host:
            self._source["host"] = host
        self._queue: asyncio.Queue[Obj] = asyncio.Queue(QUEUE_LIMIT)

    def emit(
        self, obj: Obj, kind: str, reason: str, message: str, field_path: str | None = None
    ) -> None:
        """Queue an event about ``obj`` (a Pod or Node); ``kind`` is Normal or Warning."""
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        stamp = now_rfc3339()
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name')}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion") or "v1",
                "kind": obj.get("kind") or "Pod",
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                **({"fieldPath": field_path} if field_path else {}),
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": self._source,
            "reportingComponent": self._source["component"],
            "reportingInstance": self._source.get("host", ""),
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(event)

    async def run(self) -> None:
        """Send queued events until cancelled."""
        while True:
            event = await self._queue.get()
            path = resource_path("v1", "events", event["metadata"]["namespace"])
            try:
                await self._client.create(path, event)
            except CALL_ERRORS as exc:
                log.debug("event %s dropped: %s", event["reason"], exc)
