"""A host port that forwards to a Service's ready pods, as kube-proxy would.

Pods of the local cluster listen on their own loopback pod IPs, which a
browser cannot guess; ``make demo`` opens ``127.0.0.1:8080`` and forwards each
connection to a ready pod of the web UI's Service. The endpoints are found as
the EndpointSlice controller finds them (the Service's selector, ready pods,
the target port by name or number), but read directly: kube-apiserver refuses
loopback addresses in EndpointSlices, so those stay empty here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

# get(path) -> the decoded JSON object at ``path`` of the API server, None for 404.
Getter = Callable[[str], Any]
PIPE_CHUNK = 64 * 1024


def _target_port(service: Any, port_name: str | None) -> int | str | None:
    for port in (service.get("spec") or {}).get("ports") or []:
        if port_name is None or port.get("name") == port_name:
            target = port.get("targetPort", port.get("port"))
            return target if isinstance(target, int | str) else None
    return None


def _container_port(pod: Any, target: int | str) -> int | None:
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return int(port["containerPort"])
    return None


def _ready(pod: Any) -> bool:
    status = pod.get("status") or {}
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def ready_endpoints(service: Any, pods: Any, port_name: str | None) -> list[tuple[str, int]]:
    """(pod IP, port) of every ready pod of ``service`` in the PodList ``pods``."""
    target = _target_port(service or {}, port_name)
    if target is None:
        return []
    found: list[tuple[str, int]] = []
    for pod in (pods or {}).get("items") or []:
        address = (pod.get("status") or {}).get("podIP")
        port = _container_port(pod, target)
        if address and port and _ready(pod):
            found.append((str(address), port))
    return found


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(PIPE_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ServiceProxy:
    """Forwards ``127.0.0.1:port`` to Service ``namespace/name``'s ready endpoints.

    :meth:`start` binds the port (OSError when taken) and serves on a thread
    of its own; :meth:`stop` closes it. A connection that finds no ready pod
    gets a plain-text 503 telling the user to wait.
    """

    def __init__(
        self, get: Getter, namespace: str, name: str, port: int, port_name: str | None = None
    ) -> None:
        self.get = get
        self.namespace = namespace
        self.name = name
        self.service = f"{namespace}/{name}"
        self.port = port
        self.port_name = port_name
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and start serving; returns the port (useful when ``port`` was 0).

        Raises OSError when the port cannot be bound. Callable from a thread whose
        own event loop is running (async code, Playwright's sync API): the proxy's
        loop only ever runs in the proxy's thread.
        """
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="service-proxy", daemon=True
        )
        self._thread.start()
        binding = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        )
        try:
            self._server = binding.result(30)
        except BaseException:
            self.stop()
            raise
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def stop(self) -> None:
        if self._thread is None:
            return

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(close(), self._loop)
        self._thread.join(10)
        self._thread = None

    def _endpoints(self) -> list[tuple[str, int]]:
        service = self.get(f"/api/v1/namespaces/{self.namespace}/services/{self.name}")
        selector = ((service or {}).get("spec") or {}).get("selector") or {}
        if not selector:
            return []
        query = urllib.parse.quote(",".join(f"{k}={v}" for k, v in sorted(selector.items())))
        pods = self.get(f"/api/v1/namespaces/{self.namespace}/pods?labelSelector={query}")
        return ready_endpoints(service, pods, self.port_name)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            endpoints = await loop.run_in_executor(None, self._endpoints)
        except Exception:
            endpoints = []
        random.shuffle(endpoints)
        for host, port in endpoints:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            except OSError:
                continue
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
            return
        body = f"No pod of Service {self.service} is ready yet; reload in a few seconds.\n"
        writer.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + f"Content-Length: {len(body.encode())}\r\nRetry-After: 2\r\n".encode()
            + b"Connection: close\r\n\r\n"
            + body.encode()
        )
        with contextlib.suppress(Exception):
            await writer.drain()
            writer.close()
