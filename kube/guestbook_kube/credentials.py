"""Where the Kubernetes API server is and how to authenticate: the one credentials
loader of every component (decision 0140).

:func:`load_settings` is what components call. It reads the common cases
itself, without the `kubernetes` package: worker and audit pods start a fresh
process each, and importing that package (``kubernetes.config`` loads every API
and model) cost each one ~0.15 s of CPU (decision 0050). Those cases need only
the server's URL, a bearer token and TLS settings, which come from one of two
places:

- in a pod of a real cluster: ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the
  service account's ``token`` and ``ca.crt`` files;
- otherwise a kubeconfig (``KUBECONFIG``, else ``~/.kube/config``), as the
  local process kubelet gives each pod, whose current context's user has a
  ``token`` or ``tokenFile`` and whose cluster has a ``server`` and optionally
  ``certificate-authority(-data)`` or ``insecure-skip-tls-verify``; client
  certificates are read too.

Anything else (exec plugins, auth providers, several merged kubeconfigs,
proxies) goes to the `kubernetes` loader, whose configuration becomes the same
:class:`ClusterSettings` (its token refresh hook asked at most once a second).
The precedence is the `kubernetes` loader's: in-cluster first, then the
kubeconfig.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# A projected service-account token is rotated by the kubelet (well before it
# expires); client-go and the `kubernetes` client read the file again once a
# minute, and so does this.
TOKEN_REREAD_SECONDS = 60.0
# How often a configuration from the `kubernetes` loader is asked for a refreshed
# token (its refresh hook costs ~40 us per call).
TOKEN_RECHECK_SECONDS = 1.0


class CredentialsError(RuntimeError):
    """No usable Kubernetes configuration; the message says what to do."""


# Keys of a kubeconfig user and cluster that this loader understands; any
# other key (exec, auth-provider, username, as, proxy-url, ...) means the
# `kubernetes` loader must handle the configuration.
_USER_KEYS = frozenset(
    {
        "token",
        "tokenFile",
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
    }
)
_CLUSTER_KEYS = frozenset(
    {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"}
)


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach one API server. File paths are absolute.

    ``token`` is a fixed bearer token; ``token_file`` a file holding one, read
    again every ``TOKEN_REREAD_SECONDS`` (it rotates). ``ca_file``/``ca_data``
    (PEM) are the certificate authorities to trust, else the system's;
    ``insecure`` skips verification. The client certificate and key are PEM
    files or data.
    """

    server: str
    token: str | None = None
    token_file: str | None = None
    ca_file: str | None = None
    ca_data: str | None = None
    insecure: bool = False
    cert_file: str | None = None
    cert_data: bytes | None = None
    key_file: str | None = None
    key_data: bytes | None = None
    header_source: Callable[[], str | None] | None = field(default=None, compare=False)
    """The Authorization header per request, when a `kubernetes` configuration gives it."""

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for ``server``; None for plain HTTP.

        Raises OSError or ssl.SSLError when a certificate file is missing or malformed.
        """
        if not self.server.startswith("https:"):
            return None
        context = ssl.create_default_context(cafile=self.ca_file, cadata=self.ca_data)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file or self.cert_data:
            _load_client_certificate(context, self)
        return context

    def authorization(self) -> Callable[[], str | None]:
        """A callable giving the current ``Authorization`` header value (None without a
        token), cheap enough to call per request. A token file is read at most once
        every ``TOKEN_REREAD_SECONDS``; while it cannot be read, the last token is kept.
        """
        if self.header_source is not None:
            return self.header_source
        if self.token_file is None:
            header = f"Bearer {self.token}" if self.token else None
            return lambda: header
        return _TokenFile(self.token_file).header


class _TokenFile:
    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._header: str | None = None
        self._read_at = -TOKEN_REREAD_SECONDS

    def header(self) -> str | None:
        now = time.monotonic()
        if now - self._read_at < TOKEN_REREAD_SECONDS:
            return self._header
        with self._lock:
            try:
                token = Path(self._path).read_text().strip()
            except OSError:
                token = ""  # mid-rotation: keep the last one, try again later
            if token:
                self._header = f"Bearer {token}"
            self._read_at = now
            return self._header


def _load_client_certificate(context: ssl.SSLContext, settings: ClusterSettings) -> None:
    # ssl reads a certificate chain from files only; inline data goes through a
    # private temporary folder that is removed as soon as it has been read.
    with tempfile.TemporaryDirectory(prefix="guestbook-tls-") as scratch:
        cert_file, key_file = settings.cert_file, settings.key_file
        if settings.cert_data is not None:
            cert_file = os.path.join(scratch, "client.crt")
            Path(cert_file).write_bytes(settings.cert_data)
        if settings.key_data is not None:
            key_file = os.path.join(scratch, "client.key")
            Path(key_file).write_bytes(settings.key_data)
        assert cert_file is not None
        context.load_cert_chain(cert_file, key_file)


def load_cluster_settings(
    environ: Mapping[str, str] | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ClusterSettings | None:
    """The settings of the cluster this process runs in, else of the current kubeconfig.

    None when neither is there or the kubeconfig needs the `kubernetes` loader
    (see the module docstring): the caller falls back to it, which also
    explains what is missing. Raises OSError when the kubeconfig cannot be read
    and yaml.YAMLError when it is not YAML.
    """
    env = os.environ if environ is None else environ
    in_cluster = _in_cluster_settings(env, service_account_dir)
    if in_cluster is not None:
        return in_cluster
    location = env.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if os.pathsep in location or not os.path.isfile(location):
        return None  # several files to merge, or none: the `kubernetes` loader's job
    return kubeconfig_settings(Path(location))


def _in_cluster_settings(env: Mapping[str, str], secrets: Path) -> ClusterSettings | None:
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    token_file, ca_file = secrets / "token", secrets / "ca.crt"
    if not (host and port and token_file.is_file() and ca_file.is_file()):
        return None
    if not token_file.read_text().strip():
        return None  # the `kubernetes` loader says what is wrong
    # An IPv6 address goes in brackets (Go's net.JoinHostPort, as client-go).
    netloc = f"[{host}]:{port}" if ":" in host or "%" in host else f"{host}:{port}"
    return ClusterSettings(
        server=f"https://{netloc}", token_file=str(token_file), ca_file=str(ca_file)
    )


def kubeconfig_settings(path: Path) -> ClusterSettings | None:
    """The current context's settings from the kubeconfig at ``path``; None when it
    has none or uses something only the `kubernetes` loader understands.

    Relative file names are relative to the kubeconfig's folder, as in kubectl.
    Raises OSError when a file cannot be read, yaml.YAMLError for bad YAML.
    """
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
    config = yaml.load(path.read_text(), Loader=loader)
    if not isinstance(config, dict):
        return None
    context = _named(config, "contexts", config.get("current-context"), "context")
    if context is None:
        return None
    cluster = _named(config, "clusters", context.get("cluster"), "cluster")
    user = _named(config, "users", context.get("user"), "user") or {}
    if cluster is None or not isinstance(cluster.get("server"), str):
        return None
    if set(cluster) - _CLUSTER_KEYS or set(user) - _USER_KEYS:
        return None
    folder = path.parent

    def file(value: object) -> str | None:
        return str(folder / str(value)) if value else None

    def data(value: object) -> bytes | None:
        return base64.b64decode(str(value)) if value else None

    ca_data = data(cluster.get("certificate-authority-data"))
    token_file = file(user.get("tokenFile"))
    if token_file is not None and not user.get("token") and not os.path.isfile(token_file):
        return None  # the `kubernetes` loader says what is missing
    return ClusterSettings(
        server=str(cluster["server"]).rstrip("/"),
        # kubectl uses the token when both are given, else the file.
        token=str(user["token"]) if user.get("token") else None,
        token_file=None if user.get("token") else token_file,
        ca_file=file(cluster.get("certificate-authority")),
        ca_data=ca_data.decode("ascii") if ca_data else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        cert_file=file(user.get("client-certificate")),
        cert_data=data(user.get("client-certificate-data")),
        key_file=file(user.get("client-key")),
        key_data=data(user.get("client-key-data")),
    )


def _named(config: dict[str, Any], section: str, name: object, key: str) -> dict[str, Any] | None:
    """``config[section]``'s entry called ``name``, its ``key`` part (a kubeconfig's
    clusters, users and contexts are lists of ``{name, <key>}``)."""
    for item in config.get(section) or []:
        if isinstance(item, dict) and item.get("name") == name:
            value = item.get(key)
            return value if isinstance(value, dict) else {}
    return None


def load_settings(
    kubeconfig: str | None = None,
    environ: Mapping[str, str] | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ClusterSettings:
    """How to reach the API server: from ``kubeconfig`` when given, else in-cluster
    (a pod's service account), else ``$KUBECONFIG`` or ``~/.kube/config``.

    Raises CredentialsError, a sentence saying what to do, when none is usable.
    """
    try:
        if kubeconfig is not None:
            settings = kubeconfig_settings(Path(kubeconfig))
        else:
            settings = load_cluster_settings(environ, service_account_dir)
    except (OSError, yaml.YAMLError):
        settings = None  # the `kubernetes` loader explains what is wrong
    return settings if settings is not None else _kubernetes_loader_settings(kubeconfig)


def _kubernetes_loader_settings(kubeconfig: str | None) -> ClusterSettings:
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        if kubeconfig is None:
            try:
                config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            except config.ConfigException:
                config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError) as exc:
        where = kubeconfig or "the pod's service account, $KUBECONFIG or ~/.kube/config"
        raise CredentialsError(
            f"Cannot load the Kubernetes configuration from {where} ({exc}); "
            "pass a kubeconfig (--kubeconfig or KUBECONFIG) or run inside a pod."
        ) from None
    return ClusterSettings(
        server=str(configuration.host).rstrip("/"),
        ca_file=configuration.ssl_ca_cert or None,
        insecure=not configuration.verify_ssl,
        cert_file=configuration.cert_file or None,
        key_file=configuration.key_file or None,
        header_source=_configuration_header(configuration),
    )


def _configuration_header(configuration: Any) -> Callable[[], str | None]:
    # The `kubernetes` configuration keeps the token under "BearerToken" (older
    # releases: "authorization"), prefix included; its refresh hook re-reads a
    # rotated token or runs the exec plugin again.
    header: str | None = None
    read_at = -TOKEN_RECHECK_SECONDS
    lock = threading.Lock()

    def current() -> str | None:
        nonlocal header, read_at
        now = time.monotonic()
        if now - read_at >= TOKEN_RECHECK_SECONDS:
            with lock:
                value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
                header, read_at = (str(value) if value else None), now
        return header

    return current
