"""Pod logs: the ``LogSource`` hook the job runner fills, and the ``/log`` endpoint.

The API server itself runs no containers; whoever does (the job runner)
installs a ``LogSource`` on the cluster. Without one every pod's log is empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LogRequest:
    """What ``kubectl logs`` asked for (the query parameters of ``/log``)."""

    namespace: str
    pod: str
    container: str
    follow: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    previous: bool = False


class LogSource(Protocol):
    """Supplies the output of a pod's container.

    ``stream`` yields chunks of the log; with ``request.follow`` it keeps
    yielding as the process writes and returns when the container ends. It is
    only called for pods that exist and containers the pod has.
    """

    def stream(self, request: LogRequest, pod: dict[str, Any]) -> AsyncIterator[bytes]: ...


class NoLogs:
    """The log source of a server without a job runner: every log is empty."""

    async def stream(self, request: LogRequest, pod: dict[str, Any]) -> AsyncIterator[bytes]:
        empty: tuple[bytes, ...] = ()
        for chunk in empty:
            yield chunk
