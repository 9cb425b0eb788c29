"""A small Kopf operator the conformance test runs against the local API server.

Its effects are all visible through the API: status written by handlers,
Kubernetes events, a ConfigMap written on deletion (behind Kopf's finalizer).
"""

from __future__ import annotations

import os
from typing import Any

import kopf
from kubernetes import client, config

GROUP, VERSION, PLURAL = "kopf.devcluster.test", "v1", "greetings"


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Log in from the kubeconfig, as Kopf's default would (the test gives this
    operator a registry of its own, which has no default login handler)."""
    return kopf.login_via_client(**kwargs)


@kopf.on.create(GROUP, VERSION, PLURAL)
def greet(spec: Any, body: Any, patch: Any, **_: Any) -> dict[str, int]:
    message = str(spec.get("message", ""))
    patch.status["phase"] = "Greeted"
    kopf.info(body, reason="Greeted", message=f"hello {message}")
    return {"length": len(message)}


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec.message")
def reword(new: Any, patch: Any, **_: Any) -> None:
    patch.status["lastMessage"] = new


@kopf.timer(GROUP, VERSION, PLURAL, interval=0.5)
def tick(status: Any, patch: Any, **_: Any) -> None:
    patch.status["ticks"] = int(status.get("ticks") or 0) + 1


@kopf.on.delete(GROUP, VERSION, PLURAL)
def farewell(name: str, namespace: str | None, **_: Any) -> None:
    # KUBECONFIG is read explicitly: the client captures its default path at import.
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])  # type: ignore[no-untyped-call]
    core = client.CoreV1Api()
    core.create_namespaced_config_map(
        namespace or "default",
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"farewell-{name}")),
    )
