"""Conversion between the stored form of an object and the version a client asked for.

- events.k8s.io/v1 Events are views of the core/v1 Events (one storage, as in
  Kubernetes): ``regarding`` is ``involvedObject``, ``note`` is ``message``,
  ``deprecated*`` fields carry the core-only ones.
- Custom resources of multi-version CRDs change only ``apiVersion``
  (conversion strategy ``None``).
"""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.registry import Registry, ResourceInfo

Obj = dict[str, Any]
EVENTS_V1 = ("events.k8s.io", "v1")


def needed(registry: Registry, info: ResourceInfo) -> bool:
    """Whether stored objects of ``info`` differ from what its clients read and write."""
    if (info.group, info.version) == EVENTS_V1 and info.plural == "events":
        return True
    return info.crd_name is not None and len(registry.crd_infos(info.crd_name)) > 1


def _compact(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if v is not None}


def _core_to_events_v1(event: Obj) -> Obj:
    source = event.get("source") or {}
    return _compact(
        {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": event.get("metadata", {}),
            "eventTime": event.get("eventTime"),
            "series": event.get("series"),
            "reportingController": event.get("reportingComponent") or source.get("component"),
            "reportingInstance": event.get("reportingInstance") or source.get("host"),
            "action": event.get("action"),
            "reason": event.get("reason"),
            "regarding": event.get("involvedObject"),
            "related": event.get("related"),
            "note": event.get("message"),
            "type": event.get("type"),
            "deprecatedSource": event.get("source"),
            "deprecatedFirstTimestamp": event.get("firstTimestamp"),
            "deprecatedLastTimestamp": event.get("lastTimestamp"),
            "deprecatedCount": event.get("count"),
        }
    )


def _events_v1_to_core(event: Obj) -> Obj:
    source = event.get("deprecatedSource")
    if source is None and (event.get("reportingController") or event.get("reportingInstance")):
        source = _compact(
            {"component": event.get("reportingController"), "host": event.get("reportingInstance")}
        )
    return _compact(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": event.get("metadata", {}),
            "involvedObject": event.get("regarding") or {},
            "reason": event.get("reason"),
            "message": event.get("note"),
            "source": source,
            "firstTimestamp": event.get("deprecatedFirstTimestamp"),
            "lastTimestamp": event.get("deprecatedLastTimestamp"),
            "count": event.get("deprecatedCount"),
            "type": event.get("type"),
            "eventTime": event.get("eventTime"),
            "series": event.get("series"),
            "action": event.get("action"),
            "related": event.get("related"),
            "reportingComponent": event.get("reportingController") or "",
            "reportingInstance": event.get("reportingInstance") or "",
        }
    )


def from_storage(info: ResourceInfo, obj: Obj) -> Obj:
    """The stored object as a client of ``info``'s version sees it."""
    if (info.group, info.version) == EVENTS_V1 and info.plural == "events":
        return _core_to_events_v1(obj)
    obj["apiVersion"] = info.api_version
    return obj


def to_storage(info: ResourceInfo, obj: Obj) -> Obj:
    """A client's object of ``info``'s version in the form it is stored in."""
    if (info.group, info.version) == EVENTS_V1 and info.plural == "events":
        return _events_v1_to_core(obj)
    return obj
