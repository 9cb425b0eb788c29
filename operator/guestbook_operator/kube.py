"""The Kubernetes API calls of the operator, the workers and the audit Job.

Synchronous: the worker is a plain process, and the operator calls these from
Kopf's handler threads. The calls workers and audit Jobs make (entry and
Ledger statuses, reading entries and Ledgers, events) go through the async
REST client on the loop of ``entry_status_writer``: a thousand entry statuses
per sealed batch cost about one round trip of latency and a fraction of the
`kubernetes` client's CPU, and a pod whose configuration ``kube_connection``
understands never imports the `kubernetes` package (decision 0050). The
operator's other calls (Secrets, Jobs, conditional entry writes) still use the
`kubernetes` client, built on first use.
"""

from __future__ import annotations

import base64
import datetime
import functools
import ssl
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import yaml
from guestbook_kube.client import (
    CALL_ERRORS,
    ApiClient,
    ApiError,
    Obj,
    resource_path,
    with_retries,
)
from guestbook_kube.credentials import ClusterSettings, load_cluster_settings

from guestbook_operator.entry_status_writer import ENTRY_PLURAL, EntryStatusWriter
from guestbook_operator.entry_status_writer import EntryStatusWrite as EntryStatusWrite
from guestbook_operator.manifests import API_VERSION, GROUP, VERSION

LEDGER_PLURAL = "ledgers"
_PAGE = 500
# Tries of an idempotent REST call through transient failures (5xx, 429, lost connections).
_ATTEMPTS = 4
T = TypeVar("T")
# Sent explicitly: kubernetes>=37 posts JSON bodies without a Content-Type.
JSON = "application/json"
# How often the async REST client asks the configuration for a rotated token.
TOKEN_RECHECK_SECONDS = 1.0


class KubeError(RuntimeError):
    """The Kubernetes API refused or failed a request."""


@dataclass(frozen=True)
class StoredSecret:
    """What the operator looks at in a Secret: who made it (labels, owners) and its data."""

    name: str
    labels: Mapping[str, str]
    owner_uids: tuple[str, ...]
    data: dict[str, str]


def rest_client(
    source: ClusterSettings | Any, *, user_agent: str, connections: int = 64
) -> ApiClient:
    """An async REST client (aiohttp) with the server, credentials and TLS of
    ``source``: ClusterSettings, or a `kubernetes` ApiClient (e.g. from
    ``load_client_config``).

    For the hot paths (the entry watch, status writes), where the `kubernetes`
    client's CPU per call was the limit (decision 0049). Call it inside the
    event loop that will use the client.
    """
    if isinstance(source, ClusterSettings):
        return ApiClient(
            source.server,
            authorization=source.authorization(),
            tls=source.tls_context(),
            user_agent=user_agent,
            connections=connections,
        )
    conf = source.configuration
    tls: ssl.SSLContext | None = None
    if str(conf.host).startswith("https"):
        tls = ssl.create_default_context(cafile=conf.ssl_ca_cert or None)
        if not conf.verify_ssl:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        if conf.cert_file:
            tls.load_cert_chain(conf.cert_file, conf.key_file or None)

    # The `kubernetes` configuration keeps the token under "BearerToken" (older
    # releases: "authorization"), with its "Bearer" prefix. Its refresh hook
    # re-reads a rotated token (in a pod, the token file, at most once a
    # minute) but costs ~40 us per call, so it runs at most once a second.
    header: str | None = None
    read_at = -TOKEN_RECHECK_SECONDS

    def authorization() -> str | None:
        nonlocal header, read_at
        now = time.monotonic()
        if now - read_at >= TOKEN_RECHECK_SECONDS:
            value = conf.get_api_key_with_prefix("BearerToken", alias="authorization")
            header, read_at = (str(value) if value else None), now
        return header

    return ApiClient(
        str(conf.host),
        authorization=authorization,
        tls=tls,
        user_agent=user_agent,
        connections=connections,
    )


def load_client_config() -> Any:
    """An ApiClient for the cluster this process runs in, or the current kubeconfig.

    Raises KubeError with what to do when neither is available.
    """
    from kubernetes import client, config

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config()  # type: ignore[no-untyped-call]
        except (config.ConfigException, OSError) as exc:
            raise KubeError(
                f"No Kubernetes configuration found ({exc}); run inside a pod or set KUBECONFIG."
            ) from None
    return client.ApiClient()


def load_kube(*, concurrency: int = 32, user_agent: str = "guestbook-ledger") -> Kube:
    """A Kube for the cluster this process runs in, or the current kubeconfig.

    Without importing the `kubernetes` package when ``kube_connection``
    understands the configuration (in a pod, or a kubeconfig with a token);
    else through the `kubernetes` loader. Raises KubeError with what to do when
    there is no configuration.
    """
    try:
        settings = load_cluster_settings()
    except (OSError, yaml.YAMLError):
        settings = None  # the `kubernetes` loader explains what is wrong
    if settings is None:
        return Kube(load_client_config(), concurrency=concurrency, user_agent=user_agent)
    return Kube(settings=settings, concurrency=concurrency, user_agent=user_agent)


def _ledger_path(namespace: str, name: str) -> str:
    return resource_path(API_VERSION, LEDGER_PLURAL, namespace, name)


def _reason(exc: BaseException) -> str:
    """What KubeError messages say after the colon: the API's reason, or the connection error."""
    return exc.reason if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)


class Kube:
    """The few API calls pods make. Thread-safe (the clients pool connections).

    Built from a `kubernetes` ApiClient (``api_client``) or from ClusterSettings
    (``settings``; the `kubernetes` client, needed only by the operator's calls,
    is then loaded on first use by ``load_client_config``). ``concurrency``
    bounds the REST calls in flight; ``user_agent`` names this process in the
    API server's request log.
    """

    def __init__(
        self,
        api_client: Any = None,
        *,
        settings: ClusterSettings | None = None,
        concurrency: int = 32,
        user_agent: str = "guestbook-ledger",
    ) -> None:
        if (api_client is None) == (settings is None):
            raise ValueError("Kube needs either a kubernetes ApiClient or ClusterSettings")
        self._settings = settings
        if api_client is not None:
            self._api = api_client
        self._concurrency = concurrency
        self._user_agent = user_agent
        # Started by the first REST call: an operator handler may never need its thread.
        self._status_writer: EntryStatusWriter | None = None
        self._status_writer_lock = threading.Lock()
        self._closed = False

    # The `kubernetes` client is built on first use: importing it costs ~0.2 s
    # of CPU, and the CoreV1Api and BatchV1Api modules ~0.5 s more, in every
    # worker and audit pod, which use none of them.
    @functools.cached_property
    def _api(self) -> Any:
        return load_client_config()

    @functools.cached_property
    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self._api)

    @functools.cached_property
    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self._api)

    @functools.cached_property
    def _batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self._api)

    def close(self) -> None:
        with self._status_writer_lock:
            self._closed = True
            writer, self._status_writer = self._status_writer, None
        if writer is not None:
            writer.close()

    def write_entry_statuses(self, writes: Iterable[EntryStatusWrite]) -> list[str]:
        """Set each entry's whole status; return the names that could not be written.

        Blocks until done; callable from any thread. A missing entry (deleted,
        or re-created with another uid) is skipped silently: the ledger keeps
        it, and there is nothing to show it on. Transient API errors are
        retried; other failures are returned so the caller can log them, and
        the operator's repair loop writes them later.
        """
        batch = list(writes)
        if not batch:
            return []
        return self._entry_status_writer().write(batch)

    def _entry_status_writer(self) -> EntryStatusWriter:
        with self._status_writer_lock:
            if self._closed:
                raise RuntimeError("Kube used after close()")
            if self._status_writer is None:
                source = self._settings if self._settings is not None else self._api
                user_agent, connections = self._user_agent, self._concurrency
                self._status_writer = EntryStatusWriter(
                    lambda: rest_client(source, user_agent=user_agent, connections=connections),
                    in_flight=self._concurrency,
                )
            return self._status_writer

    def _rest(self, request: Callable[[ApiClient], Awaitable[T]], *, retry: bool = True) -> T:
        """Run ``request`` with the REST client; transient failures are retried
        (``retry``: the request is idempotent). Raises what the last attempt raised."""
        if not retry:
            return self._entry_status_writer().call(request)
        return self._entry_status_writer().call(
            lambda client: with_retries(lambda: request(client), attempts=_ATTEMPTS)
        )

    def patch_ledger_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Merge ``status`` into the Ledger's status. Raises KubeError on failure
        (the Ledger is gone, or the API refused or failed the request)."""
        path = _ledger_path(namespace, name) + "/status"
        patch = {"status": dict(status)}
        try:
            patched = self._rest(lambda client: client.merge_patch(path, patch))
        except CALL_ERRORS as exc:
            raise KubeError(
                f"Cannot update the status of Ledger {namespace}/{name}: {_reason(exc)}"
            ) from None
        if patched is None:
            raise KubeError(f"Cannot update the status of Ledger {namespace}/{name}: NotFound")

    def get_ledger(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Ledger resource, or None when it does not exist."""
        path = _ledger_path(namespace, name)
        try:
            return self._rest(lambda client: client.get(path))
        except CALL_ERRORS as exc:
            raise KubeError(f"Cannot read Ledger {namespace}/{name}: {_reason(exc)}") from None

    def entries(self, namespace: str) -> Iterator[dict[str, Any]]:
        """Every GuestbookEntry in ``namespace``, page by page. Raises KubeError."""
        path = resource_path(API_VERSION, ENTRY_PLURAL, namespace)
        params = {"limit": str(_PAGE)}
        while True:
            try:
                page = self._rest(
                    functools.partial(ApiClient.list_objects, path=path, params=dict(params))
                )
            except CALL_ERRORS as exc:
                raise KubeError(
                    f"Cannot list GuestbookEntries in {namespace}: {_reason(exc)}"
                ) from None
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = str(token)

    def post_event(
        self,
        involved: Mapping[str, Any],
        *,
        type: str,
        reason: str,
        message: str,
        component: str = "guestbook-ledger",
    ) -> None:
        """Record a core/v1 Event about ``involved`` (an object as the API returns it).
        Raises KubeError."""
        meta = involved["metadata"]
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name'][:200]}.{uuid.uuid4().hex[:16]}",
                "namespace": meta["namespace"],
            },
            "involvedObject": {
                "apiVersion": involved["apiVersion"],
                "kind": involved["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
            },
            "type": type,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
        }
        path = resource_path("v1", "events", meta["namespace"])
        try:
            # Not retried: a retry after a lost answer would record the event twice.
            self._rest(lambda client: client.create(path, event), retry=False)
        except CALL_ERRORS as exc:
            where = meta["namespace"]
            raise KubeError(f"Cannot record an event in {where}: {_reason(exc)}") from None

    # --- used by the operator -------------------------------------------------

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, decoded as UTF-8; None when it does not exist."""
        found = self.read_secret_object(namespace, name)
        return None if found is None else found.data

    def read_secret_object(self, namespace: str, name: str) -> StoredSecret | None:
        """The Secret's labels, owners and data (decoded as UTF-8); None when it does
        not exist. Raises KubeError."""
        from kubernetes.client.exceptions import ApiException

        try:
            secret = self._core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError(f"Cannot read Secret {namespace}/{name}: {exc.reason}") from None
        meta = secret.metadata
        return StoredSecret(
            name=name,
            labels=dict(meta.labels or {}) if meta else {},
            owner_uids=tuple(str(o.uid) for o in (meta.owner_references or ())) if meta else (),
            data={
                key: base64.b64decode(value).decode("utf-8", errors="replace")
                for key, value in (secret.data or {}).items()
            },
        )

    def patch_secret(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Apply a JSON merge patch to the Secret (``data`` values base64 already).
        Raises KubeError."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.patch_namespaced_secret(name, namespace, cast(Any, dict(patch)))
        except ApiException as exc:
            raise KubeError(f"Cannot update Secret {namespace}/{name}: {exc.reason}") from None

    def service_account_exists(self, namespace: str, name: str) -> bool:
        """True when ServiceAccount ``namespace/name`` exists. Raises KubeError."""
        from kubernetes.client.exceptions import ApiException

        try:
            self._core.read_namespaced_service_account(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise KubeError(
                f"Cannot read ServiceAccount {namespace}/{name}: {exc.reason}"
            ) from None
        return True

    def create_secret(self, manifest: Mapping[str, Any]) -> bool:
        """Create the Secret; False when one of that name already exists."""
        from kubernetes.client.exceptions import ApiException

        meta = manifest["metadata"]
        try:
            self._core.create_namespaced_secret(
                meta["namespace"], cast(Any, dict(manifest)), _content_type=JSON
            )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise KubeError(
                f"Cannot create Secret {meta['namespace']}/{meta['name']}: {exc.reason}"
            ) from None
        return True

    def list_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Jobs matching the label selector, as JSON dicts."""
        from kubernetes.client.exceptions import ApiException

        try:
            jobs = self._batch.list_namespaced_job(namespace, label_selector=selector)
        except ApiException as exc:
            raise KubeError(f"Cannot list Jobs in {namespace}: {exc.reason}") from None
        return [cast(dict[str, Any], self._api.sanitize_for_serialization(j)) for j in jobs.items]

    def create_job(self, manifest: Mapping[str, Any]) -> str:
        """Create the Job; return its name."""
        from kubernetes.client.exceptions import ApiException

        namespace = manifest["metadata"]["namespace"]
        try:
            created = self._batch.create_namespaced_job(
                namespace, cast(Any, dict(manifest)), _content_type=JSON
            )
        except ApiException as exc:
            raise KubeError(f"Cannot create a Job in {namespace}: {exc.reason}") from None
        return str(created.metadata.name if created.metadata else "")

    def set_job_parallelism(self, namespace: str, name: str, parallelism: int) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.patch_namespaced_job(
                name, namespace, cast(Any, {"spec": {"parallelism": parallelism}})
            )
        except ApiException as exc:
            raise KubeError(f"Cannot scale Job {namespace}/{name}: {exc.reason}") from None

    def get_entry(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GuestbookEntry, or None when it does not exist. Raises KubeError."""
        path = resource_path(API_VERSION, ENTRY_PLURAL, namespace, name)
        try:
            return self._rest(lambda client: client.get(path))
        except CALL_ERRORS as exc:
            raise KubeError(
                f"Cannot read GuestbookEntry {namespace}/{name}: {_reason(exc)}"
            ) from None

    def delete_entry(self, namespace: str, name: str, uid: str) -> None:
        """Delete the GuestbookEntry if it is still the object with ``uid``."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            self._custom.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                ENTRY_PLURAL,
                name,
                body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)),
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                return
            raise KubeError(
                f"Cannot delete GuestbookEntry {namespace}/{name}: {exc.reason}"
            ) from None
