"""A host port that forwards to a Service's ready pods, as kube-proxy would.

Pods of the local cluster listen on their own loopback pod IPs, which a
browser cannot guess; ``make demo`` opens ``127.0.0.1:8080`` and forwards each
connection to a ready endpoint of the web UI's Service, read from its
EndpointSlices (maintained by kube-controller-manager from pod readiness).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from typing import Any

# get(path) -> the decoded JSON object at ``path`` of the API server, None for 404.
Getter = Callable[[str], Any]
PIPE_CHUNK = 64 * 1024


def ready_endpoints(slices: Any, port_name: str | None) -> list[tuple[str, int]]:
    """(address, port) of every ready endpoint in an EndpointSliceList."""
    found: list[tuple[str, int]] = []
    for item in (slices or {}).get("items") or []:
        ports = [
            p["port"]
            for p in item.get("ports") or []
            if p.get("port") and (port_name is None or p.get("name") == port_name)
        ]
        for endpoint in item.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            found += [
                (address, port) for address in endpoint.get("addresses") or [] for port in ports
            ]
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
        self.path = (
            f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
            f"?labelSelector=kubernetes.io/service-name%3D{name}"
        )
        self.service = f"{namespace}/{name}"
        self.port = port
        self.port_name = port_name
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Bind and start serving; returns the port (useful when ``port`` was 0)."""
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="service-proxy", daemon=True
        )
        self._thread.start()
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

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            slices = await loop.run_in_executor(None, self.get, self.path)
        except Exception:
            slices = None
        endpoints = ready_endpoints(slices, self.port_name)
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
