"""The Kubernetes API calls of the operator, the workers and the audit Job.

Synchronous: the worker is a plain process, and the operator calls these from
Kopf's handler threads. Every call goes through the one async client of
:mod:`guestbook_kube.client`, on the event loop and connections of
``entry_status_writer`` (a thousand entry statuses per sealed batch cost about
one round trip of latency, decision 0049), with the credentials of
:func:`guestbook_kube.credentials.load_settings`: a pod whose configuration
that loader reads itself never imports the `kubernetes` package (decisions
0050, 0145).
"""

from __future__ import annotations

import base64
import datetime
import functools
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from guestbook_kube.client import (
    CALL_ERRORS,
    ApiClient,
    ApiError,
    Obj,
    resource_path,
    with_retries,
)
from guestbook_kube.credentials import ClusterSettings, CredentialsError, load_settings
from guestbook_kube.resources import API_VERSION, LEDGER_PLURAL

from guestbook_operator.entry_status_writer import ENTRY_PLURAL, EntryStatusWriter
from guestbook_operator.entry_status_writer import EntryStatusWrite as EntryStatusWrite

_PAGE = 500
# Tries of an idempotent REST call through transient failures (5xx, 429, lost connections).
_ATTEMPTS = 4
T = TypeVar("T")


class KubeError(RuntimeError):
    """The Kubernetes API refused or failed a request."""


@dataclass(frozen=True)
class StoredSecret:
    """What the operator looks at in a Secret: who made it (labels, owners) and its data."""

    name: str
    labels: Mapping[str, str]
    owner_uids: tuple[str, ...]
    data: dict[str, str]


def load_kube(*, concurrency: int = 32, user_agent: str = "guestbook-ledger") -> Kube:
    """A Kube for the cluster this process runs in, or the current kubeconfig
    (:func:`guestbook_kube.credentials.load_settings`).

    Raises KubeError with what to do when there is no usable configuration.
    """
    try:
        settings = load_settings()
    except CredentialsError as exc:
        raise KubeError(str(exc)) from None
    return Kube(settings, concurrency=concurrency, user_agent=user_agent)


def _ledger_path(namespace: str, name: str) -> str:
    return resource_path(API_VERSION, LEDGER_PLURAL, namespace, name)


def _reason(exc: BaseException) -> str:
    """What KubeError messages say after the colon: the API's reason, or the connection error."""
    return exc.reason if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)


class Kube:
    """The API calls of the operator and its pods. Thread-safe (one client, its
    own event loop thread).

    ``settings`` says where the API server is and how to authenticate;
    ``concurrency`` bounds the REST calls in flight; ``user_agent`` names this
    process in the API server's request log. Every method raises KubeError
    ("Cannot <what>: <reason>") when the API refuses or fails the request, and
    RuntimeError after ``close``.
    """

    def __init__(
        self,
        settings: ClusterSettings,
        *,
        concurrency: int = 32,
        user_agent: str = "guestbook-ledger",
    ) -> None:
        self._settings = settings
        self._concurrency = concurrency
        self._user_agent = user_agent
        # Started by the first call: an operator handler may never need its thread.
        self._status_writer: EntryStatusWriter | None = None
        self._status_writer_lock = threading.Lock()
        self._closed = False

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
                settings, user_agent = self._settings, self._user_agent
                connections = self._concurrency
                self._status_writer = EntryStatusWriter(
                    lambda: ApiClient.for_cluster(
                        settings, user_agent=user_agent, connections=connections
                    ),
                    in_flight=self._concurrency,
                )
            return self._status_writer

    def _rest(
        self, what: str, request: Callable[[ApiClient], Awaitable[T]], *, retry: bool = True
    ) -> T:
        """Run ``request`` with the REST client; transient failures are retried when
        ``retry`` (the request is idempotent). Raises KubeError "Cannot ``what``: reason"
        for what the last attempt raised."""

        async def call(client: ApiClient) -> T:
            if not retry:
                return await request(client)
            return await with_retries(lambda: request(client), attempts=_ATTEMPTS)

        try:
            return self._entry_status_writer().call(call)
        except CALL_ERRORS as exc:
            raise KubeError(f"Cannot {what}: {_reason(exc)}") from None

    def patch_ledger_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Merge ``status`` into the Ledger's status. Raises KubeError on failure
        (the Ledger is gone, or the API refused or failed the request)."""
        path = _ledger_path(namespace, name) + "/status"
        patch = {"status": dict(status)}
        what = f"update the status of Ledger {namespace}/{name}"
        if self._rest(what, lambda client: client.merge_patch(path, patch)) is None:
            raise KubeError(f"Cannot {what}: NotFound")

    def get_ledger(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Ledger resource, or None when it does not exist. Raises KubeError."""
        path = _ledger_path(namespace, name)
        return self._rest(f"read Ledger {namespace}/{name}", lambda client: client.get(path))

    def entries(self, namespace: str) -> Iterator[dict[str, Any]]:
        """Every GuestbookEntry in ``namespace``, page by page. Raises KubeError."""
        path = resource_path(API_VERSION, ENTRY_PLURAL, namespace)
        params = {"limit": str(_PAGE)}
        while True:
            page = self._rest(
                f"list GuestbookEntries in {namespace}",
                functools.partial(ApiClient.list_objects, path=path, params=dict(params)),
            )
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
        # Not retried: a retry after a lost answer would record the event twice.
        self._rest(
            f"record an event in {meta['namespace']}",
            lambda client: client.create(path, event),
            retry=False,
        )

    def get_entry(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The GuestbookEntry, or None when it does not exist. Raises KubeError."""
        path = resource_path(API_VERSION, ENTRY_PLURAL, namespace, name)
        return self._rest(
            f"read GuestbookEntry {namespace}/{name}", lambda client: client.get(path)
        )

    # --- used by the operator -------------------------------------------------

    def read_secret(self, namespace: str, name: str) -> dict[str, str] | None:
        """The Secret's data, decoded as UTF-8; None when it does not exist."""
        found = self.read_secret_object(namespace, name)
        return None if found is None else found.data

    def read_secret_object(self, namespace: str, name: str) -> StoredSecret | None:
        """The Secret's labels, owners and data (decoded as UTF-8); None when it does
        not exist. Raises KubeError."""
        path = resource_path("v1", "secrets", namespace, name)
        secret = self._rest(f"read Secret {namespace}/{name}", lambda client: client.get(path))
        if secret is None:
            return None
        meta = secret.get("metadata") or {}
        return StoredSecret(
            name=name,
            labels=dict(meta.get("labels") or {}),
            owner_uids=tuple(str(o.get("uid")) for o in meta.get("ownerReferences") or ()),
            data={
                key: base64.b64decode(value).decode("utf-8", errors="replace")
                for key, value in (secret.get("data") or {}).items()
            },
        )

    def patch_secret(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Apply a JSON merge patch to the Secret (``data`` values base64 already).
        Raises KubeError, also when the Secret is gone."""
        path = resource_path("v1", "secrets", namespace, name)
        body = dict(patch)
        what = f"update Secret {namespace}/{name}"
        if self._rest(what, lambda client: client.merge_patch(path, body)) is None:
            raise KubeError(f"Cannot {what}: NotFound")

    def service_account_exists(self, namespace: str, name: str) -> bool:
        """True when ServiceAccount ``namespace/name`` exists. Raises KubeError."""
        path = resource_path("v1", "serviceaccounts", namespace, name)
        found = self._rest(
            f"read ServiceAccount {namespace}/{name}", lambda client: client.get(path)
        )
        return found is not None

    def create_secret(self, manifest: Mapping[str, Any]) -> bool:
        """Create the Secret; False when one of that name already exists. Raises KubeError."""
        meta = manifest["metadata"]
        path = resource_path("v1", "secrets", meta["namespace"])
        body = dict(manifest)

        async def create(client: ApiClient) -> bool:
            try:
                await client.create(path, body)
            except ApiError as exc:
                if exc.code == 409:
                    return False
                raise
            return True

        # Not retried: after a lost answer the retry's 409 would read as someone else's Secret.
        return self._rest(f"create Secret {meta['namespace']}/{meta['name']}", create, retry=False)

    def list_jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Jobs matching the label selector, as the API returns them. Raises KubeError."""
        path = resource_path("batch/v1", "jobs", namespace)
        params = {"labelSelector": selector}
        jobs = self._rest(
            f"list Jobs in {namespace}", lambda client: client.list_objects(path, params)
        )
        return list(jobs.get("items") or [])

    def create_job(self, manifest: Mapping[str, Any]) -> str:
        """Create the Job; return its name. Raises KubeError."""
        namespace = manifest["metadata"]["namespace"]
        path = resource_path("batch/v1", "jobs", namespace)
        body = dict(manifest)
        # Not retried: a Job named by generateName would be created twice.
        created = self._rest(
            f"create a Job in {namespace}", lambda client: client.create(path, body), retry=False
        )
        return str((created.get("metadata") or {}).get("name") or "")

    def set_job_parallelism(self, namespace: str, name: str, parallelism: int) -> None:
        """Set the Job's ``spec.parallelism``. Raises KubeError, also when the Job is gone."""
        path = resource_path("batch/v1", "jobs", namespace, name)
        patch = {"spec": {"parallelism": parallelism}}
        what = f"scale Job {namespace}/{name}"
        if self._rest(what, lambda client: client.merge_patch(path, patch)) is None:
            raise KubeError(f"Cannot {what}: NotFound")

    def delete_entry(self, namespace: str, name: str, uid: str) -> None:
        """Delete the GuestbookEntry if it is still the object with ``uid`` (nothing
        happens when it is gone or is another object now). Raises KubeError."""
        path = resource_path(API_VERSION, ENTRY_PLURAL, namespace, name)
        options = {"preconditions": {"uid": uid}}

        async def delete(client: ApiClient) -> None:
            try:
                await client.delete(path, options)
            except ApiError as exc:
                if exc.code != 409:  # the uid precondition failed: another object
                    raise

        self._rest(f"delete GuestbookEntry {namespace}/{name}", delete)
