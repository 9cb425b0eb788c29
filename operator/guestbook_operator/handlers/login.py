"""How Kopf reaches the API server: the same credentials loader as the workers.

Kopf's own logins read a kubeconfig's inline ``token`` only (its pykube
login wins over the `kubernetes` client's), so a kubeconfig whose user has a
``tokenFile`` — a projected, rotating ServiceAccount token, as the local
process kubelet gives each pod — would log in anonymously. This login uses
:func:`guestbook_kube.credentials.load_cluster_settings` (in-cluster
files first, then the kubeconfig, token files read again when they rotate) and
falls back to Kopf's own for anything that loader leaves to others.
"""

from __future__ import annotations

from typing import Any

import kopf
from guestbook_kube.credentials import load_cluster_settings


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    settings = load_cluster_settings()
    if settings is None:
        # Exec plugins, auth providers, merged kubeconfigs: the `kubernetes` loader's job.
        return kopf.login_via_client(**kwargs)
    header = settings.authorization()()
    scheme, _, token = header.partition(" ") if header else (None, "", None)
    return kopf.ConnectionInfo(
        server=settings.server,
        ca_path=settings.ca_file,
        ca_data=settings.ca_data.encode() if settings.ca_data else None,
        insecure=settings.insecure,
        scheme=scheme,
        token=token or None,
        certificate_path=settings.cert_file,
        certificate_data=settings.cert_data,
        private_key_path=settings.key_file,
        private_key_data=settings.key_data,
    )
