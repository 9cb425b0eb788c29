"""The kubelet API on HTTPS, as kube-apiserver calls it.

``/containerLogs/{namespace}/{pod}/{container}`` serves ``kubectl logs``
(through the API server's ``pods/log``); ``/healthz`` answers anyone;
``/exec``, ``/attach``, ``/portForward`` and ``/run`` answer that the process
kubelet cannot do that. Every path but ``/healthz`` requires a client
certificate signed by the cluster CA (kube-apiserver's
``--kubelet-client-certificate``); unlike a real kubelet there is no
SubjectAccessReview: any holder of such a certificate may read logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from .logs import LogOptions, LogOptionsError, log_path, stream_log

Obj = dict[str, Any]
log = logging.getLogger(__name__)

UNSUPPORTED = (
    "{verb} is not supported by the local process kubelet: pods run as local processes, "
    "not in containers (see localcluster/README.md, 'Process kubelet: known differences')"
)


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


# pod_of(namespace, name) -> the pod as the kubelet last saw it, or None
PodLookup = Callable[[str, str], Obj | None]


class KubeletServer:
    """The HTTPS server; ``port`` is known after :meth:`start`."""

    def __init__(
        self,
        state_dir: Path,
        pod_of: PodLookup,
        active_logs: set[Path],
        address: str,
        port: int,
        tls: Any,
    ) -> None:
        self.state_dir = state_dir
        self.pod_of = pod_of
        self.active_logs = active_logs
        self.address = address
        self.port = port
        self.tls = tls
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authenticate])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        for verb, name in (
            ("exec", "exec"), ("attach", "attach"), ("portForward", "port-forward"), ("run", "run"),
        ):  # fmt: skip
            handler = self._unsupported(name)
            app.router.add_route("*", f"/{verb}/{{tail:.*}}", handler)
        return app

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/healthz":
            transport = request.transport
            peer = transport.get_extra_info("peercert") if transport is not None else None
            if not peer:
                return _status(
                    401, "Unauthorized", "Unauthorized: a client certificate is required"
                )
        response: web.StreamResponse = await handler(request)
        return response

    async def start(self) -> int:
        """Listen; returns the port (the one picked when ``port`` was 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port, ssl_context=self.tls)
        await site.start()
        server = site._server  # the asyncio server: the actual port
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def _unsupported(self, verb: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return _status(400, "BadRequest", UNSUPPORTED.format(verb=verb))

        return handler

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        name = request.match_info["pod"]
        container = request.match_info["container"]
        try:
            options = LogOptions.from_query(dict(request.query))
        except LogOptionsError as exc:
            return _status(400, "BadRequest", str(exc))
        pod = self.pod_of(namespace, name)
        if pod is None:
            return _status(404, "NotFound", f'pod "{name}" not found')
        statuses = {
            str(s.get("name")): s for s in (pod.get("status") or {}).get("containerStatuses") or []
        }
        names = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        if container not in names:
            return _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
        status = statuses.get(container) or {}
        restarts = int(status.get("restartCount") or 0)
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        if options.previous:
            if restarts == 0:
                return _status(
                    400, "BadRequest",
                    f'previous terminated container "{container}" in pod "{name}" not found',
                )  # fmt: skip
            restarts -= 1
        path = log_path(self.state_dir, namespace, name, uid, container, restarts)
        if not path.exists() and not options.previous:
            waiting = (status.get("state") or {}).get("waiting") or {}
            reason = waiting.get("reason") or "ContainerCreating"
            return _status(
                400, "BadRequest",
                f'container "{container}" in pod "{name}" is waiting to start: {reason}',
            )  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        async for chunk in stream_log(path, options, lambda: path in self.active_logs):
            await response.write(chunk)
        await response.write_eof()
        return response
