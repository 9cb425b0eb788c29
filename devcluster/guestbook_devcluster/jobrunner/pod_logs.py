"""Serves ``GET pods/NAME/log`` from the files the kubelet writes.

Each run of a container writes ``logs/<ns>_<pod>_<uid>/<container>/<restart>.log``
(like ``/var/log/pods`` on a node). ``follow`` streams the file as it grows
and ends when the container's process has ended and everything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from guestbook_devcluster.logs import LogRequest

from .kubelet import log_path

POLL_SECONDS = 0.1
CHUNK = 64 * 1024


def _tail(data: bytes, lines: int) -> bytes:
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


class FileLogSource:
    """A ``LogSource`` over the kubelet's log files.

    ``is_running(uid)`` tells whether the pod's process may still write (the
    kubelet's view); it is called from the API server's thread.
    """

    def __init__(self, state_dir: Path, is_running: Callable[[str], bool]) -> None:
        self.state_dir = state_dir
        self.is_running = is_running

    def _path(self, request: LogRequest, pod: dict[str, Any]) -> Path:
        meta = pod.get("metadata") or {}
        restarts = 0
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") == request.container:
                restarts = int(status.get("restartCount") or 0)
        if request.previous:
            restarts = max(0, restarts - 1)
        return log_path(
            self.state_dir,
            request.namespace,
            request.pod,
            str(meta.get("uid") or ""),
            request.container,
            restarts,
        )

    async def stream(self, request: LogRequest, pod: dict[str, Any]) -> AsyncIterator[bytes]:
        path = self._path(request, pod)
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        budget = request.limit_bytes if request.limit_bytes is not None else -1
        while not path.exists():
            if not request.follow or not self.is_running(uid):
                return
            await asyncio.sleep(POLL_SECONDS)
        with open(path, "rb") as log_file:
            first = log_file.read()
            if request.tail_lines is not None:
                first = _tail(first, request.tail_lines)
            while True:
                if first:
                    if budget >= 0:
                        first = first[:budget]
                        budget -= len(first)
                    yield first
                    if budget == 0:
                        return
                if not request.follow:
                    return
                running = self.is_running(uid)
                first = log_file.read(CHUNK)
                if not first and not running:
                    return  # the process ended and everything it wrote was sent
                if not first:
                    await asyncio.sleep(POLL_SECONDS)
