"""The Kopf peering object that operator replicas share (``--peering NAME``)."""

from __future__ import annotations

import asyncio

from guestbook_kube.client import ApiClient, ApiError, resource_path
from guestbook_kube.credentials import load_settings
from guestbook_ledger.usage import UsageError


def ensure_peering(name: str, namespaces: list[str]) -> None:
    """Create the ClusterKopfPeering (or a KopfPeering per namespace) unless it exists.

    Call it outside any running event loop. Raises UsageError when the peering
    CRDs are not installed, CredentialsError without a Kubernetes configuration,
    and ApiError or a connection error when the API fails the request.
    """
    asyncio.run(_ensure_peering(name, namespaces))


async def _ensure_peering(name: str, namespaces: list[str]) -> None:
    api = ApiClient.for_cluster(load_settings(), user_agent="guestbook-operator")
    bodies = [
        (
            resource_path("kopf.dev/v1", "kopfpeerings", namespace),
            {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": name, "namespace": namespace},
            },
        )
        for namespace in namespaces
    ] or [
        (
            resource_path("kopf.dev/v1", "clusterkopfpeerings"),
            {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}},
        )
    ]
    try:
        for path, body in bodies:
            try:
                await api.create(path, body)
            except ApiError as exc:
                if exc.code == 404:
                    raise UsageError(
                        "The Kopf peering CRDs are not installed; apply crds/kopf-peering.yaml "
                        "or run without --peering."
                    ) from None
                if exc.code != 409:  # 409: it exists already
                    raise
    finally:
        await api.aclose()
