"""How a pod's process reaches the API server: a kubeconfig with its ServiceAccount.

In a real cluster a pod finds the API through ``KUBERNETES_SERVICE_HOST`` /
``KUBERNETES_SERVICE_PORT`` and the token mounted at
``/var/run/secrets/kubernetes.io/serviceaccount``. That path is fixed in every
client library and the in-cluster loaders insist on https, so a host process
cannot use it. Instead each pod gets its own kubeconfig (``KUBECONFIG``) whose
user is the pod's ServiceAccount token; every client library honours it. The
service variables are set too (real pods see them) and the token and
namespace files are written beside the kubeconfig for programs that read them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import yaml

# token_for(namespace, service_account_name) -> bearer token for that identity.
TokenSource = Callable[[str, str], str]


def service_account_of(pod: dict[str, object]) -> str:
    spec = pod.get("spec")
    name = spec.get("serviceAccountName") if isinstance(spec, dict) else None
    return str(name or "default")


def write_pod_identity(
    pod_dir: Path, server_url: str, namespace: str, token: str
) -> dict[str, str]:
    """Write the pod's kubeconfig, token and namespace files under ``pod_dir``.

    Returns the environment variables that point the process at them.
    """
    secrets = pod_dir / "serviceaccount"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "token").write_text(token)
    (secrets / "namespace").write_text(namespace)
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "devcluster", "cluster": {"server": server_url}}],
        "users": [{"name": "pod", "user": {"token": token}}],
        "contexts": [
            {
                "name": "pod",
                "context": {"cluster": "devcluster", "user": "pod", "namespace": namespace},
            }
        ],
        "current-context": "pod",
    }
    path = pod_dir / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
    os.chmod(path, 0o600)
    url = urlsplit(server_url)
    return {
        "KUBECONFIG": str(path),
        "KUBERNETES_SERVICE_HOST": url.hostname or "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(url.port or 80),
    }
