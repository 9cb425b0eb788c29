"""What a process kubelet needs: its node's name, its credentials, where the API is.

The kubelet authenticates to kube-apiserver with a client certificate for
``system:node:<node>`` in group ``system:nodes`` (so the Node authorizer and
the NodeRestriction admission plugin apply to it, as to any kubelet), and
serves the kubelet API with a serving certificate for 127.0.0.1, verifying
its clients (kube-apiserver) against the cluster CA.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..pki import KeyPair, Pki

DEFAULT_NODE_NAME = "local-node"
DEFAULT_PORT = 10250
KUBELET_VERSION = "v1.36.3"


class ImageEnvironmentLike(Protocol):
    """What the kubelet reads of an image's local environment (``images.ImageEnvironment``)."""

    @property
    def image(self) -> str: ...
    @property
    def root(self) -> Path: ...
    @property
    def bin_dir(self) -> Path: ...
    @property
    def entrypoint(self) -> list[str]: ...
    @property
    def cmd(self) -> list[str]: ...
    @property
    def env(self) -> dict[str, str]: ...
    @property
    def user(self) -> str | None: ...


class ImageSource(Protocol):
    """Maps an image name to its local environment (``images.ImageCatalog``).

    ``environment_for`` may block for a while (it may build the environment):
    the kubelet calls it in a thread. Any exception means the image is not
    available; its message becomes the pod's ErrImagePull message.
    """

    def environment_for(self, image: str) -> ImageEnvironmentLike: ...


@dataclass
class KubeletConfig:
    """One node's kubelet.

    ``ca_file`` is the cluster CA: it verifies kube-apiserver's certificate
    and the client certificates of callers of the kubelet API, and pods get
    it as their ``ca.crt``. ``port`` 0 picks a free port (the Node advertises
    the one in use). ``pod_start_delay`` simulates image pull and container
    start (the pod shows ContainerCreating meanwhile). ``cpu``/``memory``
    override the machine's capacity (cores, bytes).
    """

    server_url: str
    ca_file: Path
    client_cert: Path
    client_key: Path
    serving_cert: Path
    serving_key: Path
    state_dir: Path
    node_name: str = DEFAULT_NODE_NAME
    address: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    pod_start_delay: float = 0.0
    pod_cidr: str = ""  # "": a range of this machine's no other kubelet holds (PodRangeClaim)
    max_pods: int = 110
    cpu: float | None = None
    memory: int | None = None
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    node_status_seconds: float = 60.0

    @classmethod
    def from_credentials(
        cls,
        server_url: str,
        ca_file: Path,
        client: KeyPair,
        serving: KeyPair,
        state_dir: Path,
        **options: Any,
    ) -> KubeletConfig:
        """A config from the node's certificates (``ControlPlane.kubelet_credentials``)."""
        return cls(
            server_url=server_url,
            ca_file=ca_file,
            client_cert=client.cert,
            client_key=client.key,
            serving_cert=serving.cert,
            serving_key=serving.key,
            state_dir=state_dir,
            **options,
        )

    @classmethod
    def from_pki(
        cls,
        pki: Pki,
        server_url: str,
        state_dir: Path,
        node_name: str = DEFAULT_NODE_NAME,
        **options: Any,
    ) -> KubeletConfig:
        """Issue (once) the node's client and serving certificates from ``pki``."""
        client = pki.client(f"kubelet-{node_name}", f"system:node:{node_name}", ("system:nodes",))
        serving = pki.serving(
            f"kubelet-serving-{node_name}", ("localhost", node_name), ("127.0.0.1",)
        )
        return cls.from_credentials(
            server_url, pki.ca().cert, client, serving, state_dir, node_name=node_name, **options
        )  # fmt: skip

    @property
    def api_host_port(self) -> tuple[str, int]:
        """The API server's address as pods see it (KUBERNETES_SERVICE_HOST/PORT)."""
        url = urlsplit(self.server_url)
        return url.hostname or "127.0.0.1", url.port or 443

    def client_tls(self) -> ssl.SSLContext:
        """TLS to kube-apiserver: trust the cluster CA, present the node's certificate."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def serving_tls(self) -> ssl.SSLContext:
        """TLS of the kubelet API: the serving certificate; client certificates verified."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca_file))
        context.load_cert_chain(str(self.serving_cert), str(self.serving_key))
        # Optional at the handshake so /healthz answers anyone; every other path
        # requires a verified certificate (checked per request).
        context.verify_mode = ssl.CERT_OPTIONAL
        return context
