"""The Kubernetes API calls of the web UI, asynchronous (httpx).

Credentials come from the `kubernetes` client's config loaders (kubeconfig,
in-cluster service account, exec plugins), so the web UI authenticates as
kubectl does; requests go through one pooled ``httpx.AsyncClient`` so a watch
streams without holding a thread.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import httpx

GROUP = "ledger.guestbook.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
ENTRY_KIND = "GuestbookEntry"
ENTRY_PLURAL = "guestbookentries"
LEDGER_PLURAL = "ledgers"
_PAGE = 500


class KubeUnavailableError(RuntimeError):
    """The Kubernetes API cannot be reached."""


class KubeApiError(RuntimeError):
    """The Kubernetes API refused a request; ``status`` is its Status object."""

    def __init__(self, code: int, status: dict[str, Any]) -> None:
        self.code = code
        self.status = status
        super().__init__(str(status.get("message") or f"HTTP {code}"))

    @property
    def reason(self) -> str:
        return str(self.status.get("reason") or "")


@dataclass(frozen=True)
class EntryPage:
    """One page of a list: its items, the token of the next page ("" after the
    last) and the list's resourceVersion (to watch from)."""

    items: list[dict[str, Any]]
    continue_token: str
    resource_version: str


class _ConfigAuth(httpx.Auth):
    """Asks the kubernetes Configuration for the header on every request, so a
    rotating service account token (its refresh hook) is picked up."""

    def __init__(self, configuration: Any) -> None:
        self._configuration = configuration

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # The kubernetes client's config loaders (kubeconfig tokens and the pod's
        # service account alike) keep the token under "BearerToken", prefix included;
        # "authorization" is where older versions and hand-made configurations put it.
        header = self._configuration.get_api_key_with_prefix(
            "BearerToken"
        ) or self._configuration.get_api_key_with_prefix("authorization")
        if header:
            request.headers["Authorization"] = header
        yield request


def load_configuration(kubeconfig: str | None) -> Any:
    """A ``kubernetes.client.Configuration`` for ``kubeconfig``, or, when None, for
    the pod's service account, else ``$KUBECONFIG``/``~/.kube/config``.

    Raises KubeUnavailableError with what to do when none is usable.
    """
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        if kubeconfig is None:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
                return configuration
            except config.ConfigException:
                pass
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
        raise KubeUnavailableError(
            f"Cannot load the Kubernetes configuration from {where} ({exc}); "
            "pass --kubeconfig or run the web UI in a pod."
        ) from None
    return configuration


def client_for(configuration: Any) -> httpx.AsyncClient:
    """An httpx client speaking to the API server of ``configuration``."""
    # One SSLContext for trust and the client certificate: httpx ignores its
    # `cert=` argument when `verify` is a CA file path (httpx 0.28-0.29), which
    # made a client-certificate kubeconfig's requests anonymous.
    if configuration.verify_ssl:
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file and configuration.key_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return httpx.AsyncClient(
        base_url=str(configuration.host).rstrip("/"),
        auth=_ConfigAuth(configuration),
        verify=context,
        timeout=httpx.Timeout(30.0, connect=10.0),
        headers={"Accept": "application/json", "User-Agent": "guestbook-ledger-webui"},
    )


class KubeApi:
    """GuestbookEntry and Ledger calls. Safe to share between requests."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None) -> KubeApi:
        """Raises KubeUnavailableError (see `load_configuration`)."""
        return cls(client_for(load_configuration(kubeconfig)))

    async def aclose(self) -> None:
        await self._client.aclose()

    @staticmethod
    def _path(namespace: str, plural: str, name: str = "") -> str:
        # Quoted whatever the caller checked: a "?" or "/" in a name must never
        # become a query or another path on the API server (decision 0122).
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{plural}"
        return f"{path}/{quote(name, safe='')}" if name else path

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise KubeUnavailableError(
                f"Cannot reach the Kubernetes API at {self._client.base_url} ({exc}); "
                "check that the cluster is running."
            ) from None
        body = _json_or_status(response)
        if response.status_code >= 400:
            raise KubeApiError(response.status_code, body)
        return body

    async def create_entry(
        self, namespace: str, *, ledger: str, author: str, message: str
    ) -> dict[str, Any]:
        """Create a GuestbookEntry named ``entry-<random>``; return it as stored.

        Raises KubeApiError (422 with field causes when the API rejects the
        spec), KubeUnavailableError.
        """
        body = {
            "apiVersion": API_VERSION,
            "kind": ENTRY_KIND,
            "metadata": {"generateName": "entry-", "namespace": namespace},
            "spec": {"ledger": ledger, "author": author, "message": message},
        }
        return await self._request("POST", self._path(namespace, ENTRY_PLURAL), json=body)

    async def get_entry(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GuestbookEntry, or None when there is none of that name."""
        try:
            return await self._request("GET", self._path(namespace, ENTRY_PLURAL, name))
        except KubeApiError as exc:
            if exc.code == 404 and exc.status.get("details", {}).get("name") == name:
                return None
            raise

    async def get_ledger(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Ledger resource, or None when there is none of that name."""
        try:
            return await self._request("GET", self._path(namespace, LEDGER_PLURAL, name))
        except KubeApiError as exc:
            if exc.code == 404 and exc.status.get("details", {}).get("name") == name:
                return None
            raise

    async def list_entries_page(
        self, namespace: str, *, limit: int = _PAGE, continue_token: str = ""
    ) -> EntryPage:
        """One page of at most ``limit`` GuestbookEntries in ``namespace`` (in the API
        server's order, by name), after the page whose token is ``continue_token``.

        Raises KubeApiError (410 Expired for a token too old to continue),
        KubeUnavailableError.
        """
        params = {"limit": str(limit)}
        if continue_token:
            params["continue"] = continue_token
        page = await self._request("GET", self._path(namespace, ENTRY_PLURAL), params=params)
        meta = page.get("metadata") or {}
        return EntryPage(
            list(page.get("items") or []),
            str(meta.get("continue") or ""),
            str(meta.get("resourceVersion") or ""),
        )

    async def list_entries(self, namespace: str) -> AsyncIterator[EntryPage]:
        """Every GuestbookEntry in ``namespace``, page by page (one page in memory at
        a time); the last page's resourceVersion is the list's."""
        token = ""
        while True:
            page = await self.list_entries_page(namespace, continue_token=token)
            yield page
            token = page.continue_token
            if not token:
                return

    async def watch_entries(
        self, namespace: str, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events (``{"type", "object"}``) after ``resource_version`` until the
        server ends the stream. An ERROR event (e.g. 410 Expired) is yielded as is.

        Raises KubeApiError, KubeUnavailableError.
        """
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        timeout = httpx.Timeout(30.0, read=timeout_seconds + 30.0)
        try:
            async with self._client.stream(
                "GET", self._path(namespace, ENTRY_PLURAL), params=params, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise KubeApiError(response.status_code, _json_or_status(response))
                async for line in response.aiter_lines():
                    if line.strip():
                        yield cast(dict[str, Any], json.loads(line))
        except httpx.TransportError as exc:
            raise KubeUnavailableError(
                f"The watch on {self._client.base_url} broke off ({exc})."
            ) from None


def _json_or_status(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or a Status made up from a non-JSON error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {
        "kind": "Status",
        "status": "Failure",
        "code": response.status_code,
        "message": response.text[:500] or f"HTTP {response.status_code}",
    }
