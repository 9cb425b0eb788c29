"""Every API request with who made it, what it asked and how it ended.

Tests use it to assert least privilege (every call a component made was
allowed; its role grants nothing it never used) and to see injected faults.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from guestbook_devcluster.request_info import RequestInfo

FAULT_INJECTOR = "devcluster:fault-injector"  # the "user" of faults that are not requests


@dataclass(frozen=True)
class RequestRecord:
    """One request: identity, RBAC attributes, HTTP code, and any fault injected."""

    time: float
    user: str
    groups: tuple[str, ...]
    verb: str
    api_group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    path: str
    code: int
    allowed: bool
    fault: str | None = None

    @property
    def resource_label(self) -> str:
        qualified = f"{self.resource}.{self.api_group}" if self.api_group else self.resource
        return f"{qualified}/{self.subresource}" if self.subresource else qualified

    def info(self) -> RequestInfo:
        """The request's RBAC attributes again (for re-checking grants)."""
        return RequestInfo(
            verb=self.verb,
            path=self.path,
            is_resource=bool(self.resource),
            api_group=self.api_group,
            resource=self.resource,
            subresource=self.subresource,
            namespace=self.namespace,
            name=self.name,
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = list(self.groups)
        data["resourceLabel"] = self.resource_label
        return data


class RequestLog:
    """A bounded, thread-safe list of :class:`RequestRecord` (oldest dropped first)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(
        self,
        info: RequestInfo,
        user: str,
        groups: tuple[str, ...],
        code: int,
        *,
        allowed: bool = True,
        fault: str | None = None,
    ) -> None:
        record = RequestRecord(
            time=time.time(),
            user=user,
            groups=groups,
            verb=info.verb,
            api_group=info.api_group,
            resource=info.resource,
            subresource=info.subresource,
            namespace=info.namespace,
            name=info.name,
            path=info.path,
            code=code,
            allowed=allowed,
            fault=fault,
        )
        with self._lock:
            self._records.append(record)

    def note_fault(
        self, fault: str, resource: str = "", namespace: str = "", name: str = ""
    ) -> None:
        """Record a fault that is not a request (dropped watches, a killed pod process)."""
        record = RequestRecord(
            time=time.time(),
            user=FAULT_INJECTOR,
            groups=(),
            verb="inject",
            api_group="",
            resource=resource,
            subresource="",
            namespace=namespace,
            name=name,
            path="",
            code=0,
            allowed=True,
            fault=fault,
        )
        with self._lock:
            self._records.append(record)

    def records(self, user: str | None = None) -> list[RequestRecord]:
        """A snapshot of the records, optionally only those of ``user``."""
        with self._lock:
            found = list(self._records)
        return found if user is None else [r for r in found if r.user == user]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
