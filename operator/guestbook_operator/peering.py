"""The Kopf peering object that operator replicas share (``--peering NAME``)."""

from __future__ import annotations

from guestbook_ledger.usage import UsageError

from guestbook_operator.kube import JSON, load_client_config


def ensure_peering(name: str, namespaces: list[str]) -> None:
    """Create the ClusterKopfPeering (or a KopfPeering per namespace) unless it exists.

    Raises UsageError when the peering CRDs are not installed.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = client.CustomObjectsApi(load_client_config())
    try:
        if not namespaces:
            body = {
                "apiVersion": "kopf.dev/v1",
                "kind": "ClusterKopfPeering",
                "metadata": {"name": name},
            }
            api.create_cluster_custom_object(
                "kopf.dev", "v1", "clusterkopfpeerings", body, _content_type=JSON
            )
        for namespace in namespaces:
            body = {
                "apiVersion": "kopf.dev/v1",
                "kind": "KopfPeering",
                "metadata": {"name": name, "namespace": namespace},
            }
            try:
                api.create_namespaced_custom_object(
                    "kopf.dev", "v1", namespace, "kopfpeerings", body, _content_type=JSON
                )
            except ApiException as exc:
                if exc.status != 409:
                    raise
    except ApiException as exc:
        if exc.status == 409:
            return
        if exc.status == 404:
            raise UsageError(
                "The Kopf peering CRDs are not installed; apply crds/kopf-peering.yaml "
                "or run without --peering."
            ) from None
        raise
