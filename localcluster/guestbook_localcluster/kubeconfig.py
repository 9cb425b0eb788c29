"""Kubeconfig files for the local cluster's users (admin, controllers, kubelet)."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from .pki import KeyPair


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def write_kubeconfig(
    path: Path,
    server: str,
    ca_cert: Path,
    user: str,
    credentials: KeyPair,
    *,
    cluster: str = "guestbook-local",
    namespace: str | None = None,
) -> Path:
    """Write a kubeconfig whose one context is ``user`` (a client certificate) at ``server``.

    The certificates are embedded, so the file can be copied elsewhere.
    """
    context: dict[str, str] = {"cluster": cluster, "user": user}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(credentials.cert),
                    "client-key-data": _b64(credentials.key),
                },
            }
        ],
        "contexts": [{"name": f"{user}@{cluster}", "context": context}],
        "current-context": f"{user}@{cluster}",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
