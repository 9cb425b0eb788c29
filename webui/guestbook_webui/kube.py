"""The web UI's GuestbookEntry and Ledger calls, on the shared Kubernetes client.

Credentials come from ``guestbook_kube.credentials`` (a pod's service account,
a kubeconfig, or through the `kubernetes` loader exec plugins and the like),
so the web UI authenticates as kubectl does; requests go through the one
``guestbook_kube.client.ApiClient``, whose error answers (``ApiError``) carry
the API server's Status for the web UI's problem details.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from guestbook_kube.client import CONNECTION_ERRORS, ApiClient, ApiError, Obj
from guestbook_kube.credentials import ClusterSettings, CredentialsError, load_settings
from guestbook_kube.resources import API_VERSION, ENTRY_KIND, entries_path

USER_AGENT = "guestbook-ledger-webui"
PAGE = 500


class KubeUnavailableError(RuntimeError):
    """The Kubernetes API cannot be reached (or not configured); the message says what to do."""


@dataclass(frozen=True)
class EntryPage:
    """One page of a list: its items, the token of the next page ("" after the
    last) and the list's resourceVersion (to watch from)."""

    items: list[dict[str, Any]]
    continue_token: str
    resource_version: str


class KubeApi:
    """GuestbookEntry and Ledger calls. Safe to share between requests.

    The client is made on first use, inside the event loop that serves the
    app (aiohttp sessions belong to one loop), unless ``client`` is given.
    Every call raises ``ApiError`` when the API server refuses and
    KubeUnavailableError when it cannot be reached.
    """

    def __init__(self, settings: ClusterSettings, client: ApiClient | None = None) -> None:
        self._settings = settings
        self._client = client

    @classmethod
    def from_kubeconfig(cls, kubeconfig: str | None) -> KubeApi:
        """For ``kubeconfig``, or when None, the pod's service account, else
        ``$KUBECONFIG``/``~/.kube/config``. Raises KubeUnavailableError with what
        to do when none is usable."""
        try:
            return cls(load_settings(kubeconfig))
        except CredentialsError as exc:
            raise KubeUnavailableError(f"{exc} (the web UI's --kubeconfig)") from None

    @property
    def server(self) -> str:
        return self._settings.server

    @property
    def client(self) -> ApiClient:
        """The shared REST client (for the entry feed's informer)."""
        if self._client is None:
            try:
                self._client = ApiClient.for_cluster(self._settings, user_agent=USER_AGENT)
            except (OSError, ssl.SSLError) as exc:
                raise KubeUnavailableError(
                    f"Cannot use the TLS files of the Kubernetes configuration ({exc})."
                ) from None
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Obj:
        try:
            return await self.client.request(method, path, **kwargs)
        except CONNECTION_ERRORS as exc:
            raise KubeUnavailableError(
                f"Cannot reach the Kubernetes API at {self.server} ({exc or type(exc).__name__}); "
                "check that the cluster is running."
            ) from None

    async def create_entry(
        self, namespace: str, *, ledger: str, author: str, message: str
    ) -> dict[str, Any]:
        """Create a GuestbookEntry named ``entry-<random>``; return it as stored.

        Raises ApiError (422 with field causes when the API rejects the spec),
        KubeUnavailableError.
        """
        body = {
            "apiVersion": API_VERSION,
            "kind": ENTRY_KIND,
            "metadata": {"generateName": "entry-", "namespace": namespace},
            "spec": {"ledger": ledger, "author": author, "message": message},
        }
        return await self._request("POST", entries_path(namespace), body=body)

    async def get_entry(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GuestbookEntry, or None when there is none of that name (a missing
        resource type is an ApiError, 404)."""
        try:
            return await self._request("GET", entries_path(namespace, name))
        except ApiError as exc:
            if exc.code == 404 and (exc.status.get("details") or {}).get("name") == name:
                return None
            raise

    async def list_entries_page(
        self, namespace: str, *, limit: int = PAGE, continue_token: str = ""
    ) -> EntryPage:
        """One page of at most ``limit`` GuestbookEntries in ``namespace`` (in the API
        server's order, by name), after the page whose token is ``continue_token``.

        Raises ApiError (410 Expired for a token too old to continue),
        KubeUnavailableError.
        """
        params = {"limit": str(limit)}
        if continue_token:
            params["continue"] = continue_token
        page = await self._request("GET", entries_path(namespace), params=params)
        meta = page.get("metadata") or {}
        return EntryPage(
            list(page.get("items") or []),
            str(meta.get("continue") or ""),
            str(meta.get("resourceVersion") or ""),
        )
