"""How Kopf reaches the API server: the same credentials loader as every component.

Kopf's own logins read a kubeconfig's inline ``token`` only, so a kubeconfig
whose user has a ``tokenFile`` — a projected, rotating ServiceAccount token, as
the local process kubelet gives each pod — would log in anonymously. This
login uses :func:`guestbook_kube.credentials.load_settings` (in-cluster files
first, then the kubeconfig, and the `kubernetes` loader for exec plugins and
the like). Kopf calls it again when the API server answers 401, so a rotated
or expired token is read afresh.
"""

from __future__ import annotations

from typing import Any

import kopf
from guestbook_kube.credentials import CredentialsError, load_settings


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo:
    try:
        settings = load_settings()
    except CredentialsError as exc:
        raise kopf.PermanentError(str(exc)) from None
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
