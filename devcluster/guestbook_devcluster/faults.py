"""Fault injection for tests: failing requests, latency, dropped watches, killed pods.

Rules match requests by verb and resource (``pods``, ``jobs.batch``,
``pods/status``; ``*`` or None for any) and fire for the next ``count``
matching requests (None: until cleared). Every request a rule touched is
marked in the request log with what was done to it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from guestbook_devcluster.request_info import RequestInfo

REASONS = {
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass
class FaultRule:
    """One injected fault; ``code`` None means latency only."""

    id: int
    verb: str | None
    resource: str | None
    code: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    remaining: int | None = None
    namespace: str | None = None

    def matches(self, info: RequestInfo) -> bool:
        if self.verb not in (None, "*", info.verb):
            return False
        if self.namespace not in (None, info.namespace):
            return False
        if self.resource in (None, "*"):
            return info.is_resource
        # "pods" matches the pods resource itself, "pods/status" its subresource;
        # the API group may be left out ("jobs" as well as "jobs.batch").
        plain = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
        return info.is_resource and self.resource in (plain, info.resource_label)

    def describe(self) -> str:
        if self.code is None:
            return f"latency {self.latency:g}s"
        return f"error {self.code}" + (
            f" retry-after {self.retry_after}" if self.retry_after else ""
        )


@dataclass
class Decision:
    """What to do to one request: wait ``latency`` seconds, then fail with ``code``."""

    latency: float = 0.0
    code: int | None = None
    retry_after: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fault(self) -> str | None:
        return ", ".join(self.notes) or None


class FaultInjector:
    """Holds the active fault rules; thread-safe.

    ``drop_watch_streams`` and ``kill_pod`` are supplied by the cluster (the
    storage's watchers and the job runner's kubelet).
    """

    def __init__(
        self,
        drop_watch_streams: Callable[[], None] | None = None,
        kill_pod: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._drop_watch_streams = drop_watch_streams
        self.kill_pod_hook = kill_pod
        self.events: list[str] = []  # faults that are not requests (dropped watches, kills)
        # note(fault, resource, namespace, name): where those faults are recorded too.
        self.note: Callable[[str, str, str, str], None] | None = None

    def fail_next(
        self,
        count: int | None,
        *,
        verb: str | None = None,
        resource: str | None = None,
        code: int = 500,
        retry_after: int | None = None,
        namespace: str | None = None,
    ) -> int:
        """Answer the next ``count`` matching requests with ``code``; returns the rule id.

        Raises ValueError for a code this injector cannot produce.
        """
        if code not in REASONS:
            raise ValueError(f"cannot inject code {code}; use one of {sorted(REASONS)}")
        if code == 429 and retry_after is None:
            retry_after = 1
        return self._add(
            FaultRule(
                next(self._ids),
                verb,
                resource,
                code=code,
                retry_after=retry_after,
                remaining=count,
                namespace=namespace,
            )
        )

    def add_latency(
        self,
        seconds: float,
        *,
        verb: str | None = None,
        resource: str | None = None,
        count: int | None = None,
    ) -> int:
        """Delay matching requests by ``seconds``; returns the rule id."""
        if seconds < 0:
            raise ValueError("latency must be zero or more seconds")
        return self._add(
            FaultRule(next(self._ids), verb, resource, latency=seconds, remaining=count)
        )

    def _add(self, rule: FaultRule) -> int:
        with self._lock:
            self._rules.append(rule)
        return rule.id

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def decide(self, info: RequestInfo) -> Decision:
        """What to do to this request; consumes one use of each rule that fires."""
        decision = Decision()
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(info):
                    continue
                if rule.code is not None and decision.code is not None:
                    continue  # one error per request; later rules wait for later requests
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                decision.latency += rule.latency
                if rule.code is not None:
                    decision.code = rule.code
                    decision.retry_after = rule.retry_after
                decision.notes.append(rule.describe())
        return decision

    def drop_watches(self) -> None:
        """End every open watch stream now (clients see the stream close and resume)."""
        with self._lock:
            self.events.append("drop watches")
        if self.note is not None:
            self.note("drop watches", "*", "", "")
        if self._drop_watch_streams is not None:
            self._drop_watch_streams()

    def kill_pod(self, namespace: str, name: str) -> bool:
        """SIGKILL the process of pod ``namespace/name``; False when none runs."""
        with self._lock:
            self.events.append(f"kill pod {namespace}/{name}")
        if self.note is not None:
            self.note("kill pod process", "pods", namespace, name)
        return self.kill_pod_hook is not None and self.kill_pod_hook(namespace, name)

    def apply_admin(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one admin-endpoint command (``POST /_devcluster/faults``).

        Raises ValueError with a clear message for a malformed command.
        """
        action = request.get("action")
        if action == "fail":
            count = request.get("count", 1)
            rule = self.fail_next(
                None if count is None else int(count),
                verb=request.get("verb"),
                resource=request.get("resource"),
                code=int(request.get("code", 500)),
                retry_after=request.get("retryAfter"),
                namespace=request.get("namespace"),
            )
            return {"rule": rule}
        if action == "latency":
            count = request.get("count")
            rule = self.add_latency(
                float(request.get("seconds", 0)),
                verb=request.get("verb"),
                resource=request.get("resource"),
                count=None if count is None else int(count),
            )
            return {"rule": rule}
        if action == "dropWatches":
            self.drop_watches()
            return {"dropped": True}
        if action == "killPod":
            killed = self.kill_pod(str(request.get("namespace", "default")), str(request["name"]))
            return {"killed": killed}
        if action == "clear":
            self.clear()
            return {"cleared": True}
        raise ValueError(
            'unknown action; use one of "fail", "latency", "dropWatches", "killPod", "clear"'
        )
