"""The asynchronous client of the Kubernetes REST API that every component uses.

The operator, the workers and audit Jobs, the web UI and the local process
kubelet all talk to kube-apiserver through :class:`ApiClient` (decision 0140);
Kopf keeps its own client for the Ledger handlers. aiohttp rather than the
`kubernetes` client: that client's per-call CPU was the bottleneck of the
entry watch and status writes (decision 0049). Only the verbs the components
need: get, list (paged), watch, create, replace, merge patch, JSON patch and
delete. Needs the ``aiohttp`` and ``orjson`` packages.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import quote

import aiohttp
import orjson

if TYPE_CHECKING:
    from guestbook_kube.credentials import ClusterSettings

Obj = dict[str, Any]
T = TypeVar("T")

# Transient answers a controller waits out and retries (the fault injector
# produces exactly these): server errors, throttling, and dropped connections.
RETRYABLE_CODES = frozenset({429, 500, 502, 503, 504})
# What a lost or refused connection raises (the caller retries or relists).
CONNECTION_ERRORS = (aiohttp.ClientError, TimeoutError)


class ApiError(Exception):
    """The API server answered with an error Status (code, reason, message).

    ``status`` is the Status object as the server sent it (details and causes
    included), or one made up from a body that was not a Status.
    """

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        retry_after: float | None = None,
        status: Obj | None = None,
    ):
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.status: Obj = status or {
            "kind": "Status",
            "status": "Failure",
            "code": code,
            "reason": reason,
            "message": message,
        }

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE_CODES


# Every failure of a call: an error answer or no answer at all.
CALL_ERRORS = (ApiError, aiohttp.ClientError, TimeoutError)


def _api_error(response: aiohttp.ClientResponse, body: bytes) -> ApiError:
    reason, message = str(response.reason or ""), body.decode("utf-8", "replace")[:500]
    status: Obj | None = None
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            status = parsed
            reason = str(parsed.get("reason") or reason)
            message = str(parsed.get("message") or message)
    except ValueError:
        pass
    retry_after: float | None = None
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    return ApiError(response.status, reason, message, retry_after, status)


def resource_path(
    api_version: str, plural: str, namespace: str | None = None, name: str | None = None
) -> str:
    """The REST path of a collection (``name`` None) or of one object.

    ``api_version`` is ``v1`` for the core group or ``group/version`` otherwise;
    ``namespace`` None means cluster scope (or all namespaces for a list).
    Namespace and name are percent-quoted whatever the caller checked: a "?"
    or "/" in a name must never become a query or another path (decision 0122).
    """
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = prefix + (f"/namespaces/{quote(namespace, safe='')}" if namespace else "")
    path += f"/{plural}"
    return path + (f"/{quote(name, safe='')}" if name else "")


# Called before each request: the current "Bearer ..." header value, or None.
# In a pod the service-account token file is rotated, so it is read again.
Authorization = Callable[[], str | None]


class ApiClient:
    """REST calls against one API server.

    ``token`` is a bearer token, or ``authorization`` a callable giving the
    whole Authorization header per request; ``tls`` the SSL context (None for
    plain HTTP). Errors: every call raises
    :class:`ApiError` for an error answer and one of ``CONNECTION_ERRORS`` when
    the server cannot be reached. Create it inside the event loop that uses it
    (aiohttp sessions belong to one loop).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        authorization: Authorization | None = None,
        tls: ssl.SSLContext | None = None,
        user_agent: str = "guestbook-ledger/1",
        connections: int = 64,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._authorization = authorization
        # aiohttp rather than httpx: with 50+ pods patching status at once, httpx's
        # connection pool bookkeeping cost more CPU than the requests (measured).
        self._http = aiohttp.ClientSession(
            base_url,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=30.0),
            connector=aiohttp.TCPConnector(limit=connections, ssl=tls if tls else False),
            cookie_jar=aiohttp.DummyCookieJar(),  # the API sets none; skips a filter per call
            read_bufsize=4 * 1024 * 1024,  # a watch event is one line; objects can be large
        )

    @classmethod
    def for_cluster(
        cls, settings: ClusterSettings, *, user_agent: str, connections: int = 64
    ) -> Self:
        """A client of the API server ``settings`` describe (see
        :func:`guestbook_kube.credentials.load_settings`). Call it inside the event
        loop that will use the client. Raises OSError or ssl.SSLError when a
        certificate file is missing or malformed."""
        return cls(
            settings.server,
            authorization=settings.authorization(),
            tls=settings.tls_context(),
            user_agent=user_agent,
            connections=connections,
        )

    def _auth_headers(self, headers: dict[str, str] | None = None) -> dict[str, str] | None:
        if self._authorization is None:
            return headers
        value = self._authorization()
        if not value:
            return headers
        return {**(headers or {}), "Authorization": value}

    async def aclose(self) -> None:
        await self._http.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> Obj:
        content = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": content_type} if content is not None else None
        async with self._http.request(
            method, path, data=content, headers=self._auth_headers(headers), params=params
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise _api_error(response, raw)
        result: Obj = orjson.loads(raw)
        return result

    async def _unless_gone(self, method: str, path: str, **options: Any) -> Obj | None:
        """``request(method, path, **options)``; None when the object does not exist (404)."""
        try:
            return await self.request(method, path, **options)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    async def get(self, path: str) -> Obj | None:
        """The object at ``path``, or None when it does not exist."""
        return await self._unless_gone("GET", path)

    async def list_objects(self, path: str, params: Mapping[str, str] | None = None) -> Obj:
        return await self.request("GET", path, params=params)

    async def list_pages(
        self, path: str, *, limit: int = 500, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Obj]:
        """Yield each page of the collection at ``path`` (``limit`` items per page).

        A page is the list object itself; the last one's
        ``metadata.resourceVersion`` is where a watch of the same collection
        starts. Raises :class:`ApiError` (410 Gone when the continue token
        expired mid-way: list again).
        """
        query = {**(params or {}), "limit": str(limit)}
        while True:
            page = await self.request("GET", path, params=query)
            yield page
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = str(token)

    async def create(self, path: str, body: Obj) -> Obj:
        return await self.request("POST", path, body=body)

    async def replace(self, path: str, body: Obj) -> Obj:
        """PUT ``body`` (with its ``metadata.resourceVersion``: 409 Conflict when stale)."""
        return await self.request("PUT", path, body=body)

    async def merge_patch(self, path: str, patch: Obj) -> Obj | None:
        """Apply a JSON merge patch; None when the object is gone."""
        merge = "application/merge-patch+json"
        return await self._unless_gone("PATCH", path, body=patch, content_type=merge)

    async def json_patch(self, path: str, operations: list[Obj]) -> Obj | None:
        """Apply a JSON patch (RFC 6902); None when the object is gone."""
        json_patch = "application/json-patch+json"
        return await self._unless_gone("PATCH", path, body=operations, content_type=json_patch)

    async def delete(self, path: str, options: Obj | None = None) -> bool:
        """Delete ``path``; False when it was already gone."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", **(options or {})}
        return await self._unless_gone("DELETE", path, body=body) is not None

    async def watch(
        self,
        path: str,
        resource_version: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout_seconds: int = 300,
    ) -> AsyncIterator[Obj]:
        """Yield watch events of the collection at ``path`` after ``resource_version``.

        ``params`` adds query parameters (a ``fieldSelector``, ``labelSelector``);
        the server ends the stream after ``timeout_seconds``.

        Ends when the server closes the stream. Raises :class:`ApiError` (410 Gone
        when ``resource_version`` has expired, the caller must list again).
        """
        query = {
            **(params or {}),
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30.0)
        async with self._http.get(
            path, params=query, timeout=timeout, headers=self._auth_headers()
        ) as response:
            if response.status >= 400:
                raise _api_error(response, await response.read())
            async for line in response.content:
                if not line.strip():
                    continue
                event: Obj = orjson.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise ApiError(
                        int(status.get("code") or 500),
                        str(status.get("reason") or "Error"),
                        str(status.get("message") or "watch error"),
                        status=status,
                    )
                yield event


async def with_retries(
    call: Callable[[], Awaitable[T]], *, attempts: int = 8, first_delay: float = 0.05
) -> T:
    """Run ``call`` again after transient failures (5xx, 429, connection loss).

    Waits ``Retry-After`` when the server names one, else doubles from
    ``first_delay`` (capped at 2 s). Re-raises the last error after ``attempts``
    tries, and any non-transient error at once.
    """
    delay = first_delay
    for attempt in range(attempts):
        try:
            return await call()
        except ApiError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
            wait = exc.retry_after if exc.retry_after is not None else delay
        except CONNECTION_ERRORS:
            if attempt == attempts - 1:
                raise
            wait = delay
        await asyncio.sleep(min(wait, 5.0))
        delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable: the loop returns or raises")
