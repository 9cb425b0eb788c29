"""An HTTPS proxy on 127.0.0.1 in front of kube-apiserver that fails requests on cue.

kube-apiserver answers 5xx and 429 and drops connections only when something
is really wrong; a test that needs exactly two 503s on one resource puts this
proxy between the client and the server. It terminates TLS with a certificate
of the cluster's CA (so clients keep verifying the server as they would the
real one) and forwards each request with its ``Authorization`` header, so the
API server sees the client's own bearer token: use it with ServiceAccount
tokens, not client certificates (those end at the proxy).

The proxy runs its own event loop in a thread, so both synchronous and
asynchronous tests can drive it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import aiohttp
from aiohttp import web

# Per-hop headers, and those aiohttp sets itself for the forwarded body.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "host",
        "content-length",
    }
)
_REASONS = {
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def request_verb(method: str, path: str, query: dict[str, str]) -> tuple[str, str]:
    """The Kubernetes verb and resource (``plural`` or ``plural/subresource``) of a request.

    ``/apis/G/V/namespaces/NS/PLURAL/NAME/SUB`` is ``(verb, "PLURAL/SUB")``; GET
    is ``get`` on an object, ``list`` on a collection, ``watch`` with ``watch=1``.
    """
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) > 2:
        rest = rest[2:]
    resource = "/".join(rest[:1] + rest[2:3])
    method = method.upper()
    if method == "GET":
        if query.get("watch") in ("1", "true"):
            return "watch", resource
        return ("get" if len(rest) > 1 else "list"), resource
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    return verbs.get(method, method.lower()), resource


@dataclass
class _Rule:
    verb: str
    resource: str
    code: int
    left: int | None  # None: every matching request
    retry_after: float | None


class FaultProxy:
    """Forwards to ``upstream`` (kube-apiserver), failing what :meth:`fail_next` names.

    ``ca_cert`` is the CA that signed the API server's certificate;
    ``serving_cert``/``serving_key`` the proxy's own certificate for 127.0.0.1.
    Use as a context manager; :attr:`url` is where clients connect.
    """

    def __init__(self, upstream: str, ca_cert: Path, serving_cert: Path, serving_key: Path):
        self.upstream = upstream.rstrip("/")
        self._client_tls = ssl.create_default_context(cafile=str(ca_cert))
        self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_tls.load_cert_chain(str(serving_cert), str(serving_key))
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._seen: Counter[tuple[str, str]] = Counter()
        self._failed: Counter[tuple[str, str]] = Counter()
        # The connections being answered, and the handler answering each.
        self._open: dict[asyncio.Transport, asyncio.Task[object]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy")
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    # -- what tests call ---------------------------------------------------------

    def fail_next(
        self,
        count: int | None,
        *,
        verb: str,
        resource: str,
        code: int,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests (None: every one, for the proxy's life) for
        ``verb`` on ``resource`` (e.g. ``patch``, ``ledgers/status``) with an error
        Status of ``code``, as kube-apiserver words one; ``retry_after`` seconds
        in a ``Retry-After`` header."""
        with self._lock:
            self._rules.append(_Rule(verb, resource, code, count, retry_after))

    def faults_left(self) -> int:
        """How many counted faults have not happened yet (a lasting fault counts one)."""
        with self._lock:
            return sum(1 if r.left is None else r.left for r in self._rules)

    def failed(self, verb: str, resource: str) -> int:
        """How many requests for ``verb`` on ``resource`` were answered with a fault."""
        with self._lock:
            return self._failed[verb, resource]

    def seen(self, verb: str, resource: str) -> int:
        """How many requests for ``verb`` on ``resource`` arrived (failed or forwarded)."""
        with self._lock:
            return self._seen[verb, resource]

    def drop_connections(self) -> None:
        """Close every client connection now, mid-answer (a watch stream ends abruptly)."""

        async def drop() -> None:
            self._drop_all()

        asyncio.run_coroutine_threadsafe(drop(), self._loop).result(timeout=10)

    def _drop_all(self) -> None:
        for transport, handler in list(self._open.items()):
            transport.abort()
            handler.cancel()  # it may be waiting for the next line of a watch

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        except BaseException:
            self._stop_loop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._client_tls),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            auto_decompress=False,  # bytes pass through as the server encoded them
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        # handler_cancellation: a client that hangs up ends its forwarded watch.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1
        )
        await self._runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock, ssl_context=self._server_tls)
        await site.start()
        self.url = f"https://127.0.0.1:{sock.getsockname()[1]}"

    async def _stop(self) -> None:
        self._drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    # -- forwarding --------------------------------------------------------------

    def _fault_for(self, verb: str, resource: str) -> _Rule | None:
        with self._lock:
            self._seen[verb, resource] += 1
            for rule in self._rules:
                if (rule.verb, rule.resource) == (verb, resource):
                    if rule.left is not None:
                        rule.left -= 1
                        if rule.left == 0:
                            self._rules.remove(rule)
                    self._failed[verb, resource] += 1
                    return rule
        return None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        verb, resource = request_verb(request.method, request.path, dict(request.query))
        rule = self._fault_for(verb, resource)
        if rule is not None:
            return _error_status(rule)
        transport, handler = request.transport, asyncio.current_task()
        assert isinstance(transport, asyncio.Transport) and handler is not None
        self._open[transport] = handler
        try:
            return await self._pass_through(request)
        except (aiohttp.ClientError, OSError) as exc:
            # The API server is not there (killed, restarting) or went away
            # mid-answer: the client's connection drops, as it would reaching
            # the server itself (aiohttp logs a ConnectionResetError quietly).
            transport.abort()
            raise ConnectionResetError(f"forwarding to kube-apiserver failed: {exc}") from exc
        finally:
            self._open.pop(transport, None)

    async def _pass_through(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        body = await request.read() if request.can_read_body else None
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.raw_path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _NOT_FORWARDED:
                    response.headers.add(key, value)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response


def _error_status(rule: _Rule) -> web.Response:
    reason = _REASONS.get(rule.code, "InternalError")
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"injected by the test's proxy: {rule.code} for {rule.verb} {rule.resource}",
        "reason": reason,
        "code": rule.code,
    }
    headers = {"Content-Type": "application/json"}
    if rule.retry_after is not None:
        headers["Retry-After"] = f"{rule.retry_after:g}"
    return web.Response(status=rule.code, body=json.dumps(status), headers=headers)
