"""A whole local cluster: the upstream control plane and one process-kubelet Node.

What `make demo` and the tests run. The Node's pods run as local processes in
environments built exactly as their images are (:mod:`.images`).
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .controlplane import ControlPlane, ControlPlaneError
from .images import ImageCatalog
from .kubelet import DEFAULT_NODE_NAME, ImageSource, Kubelet, KubeletConfig, KubeletNotReady
from .upstream import ensure_binaries


def _say(message: str) -> None:
    print(message, flush=True)


class LocalCluster:
    """The control plane in ``data_dir`` plus the kubelet of node ``local-node``.

    ``durable=False`` runs etcd without fsync (tests). ``pod_start_delay``
    simulates image pull and container start for every pod. ``images`` maps
    image references to local environments (default: the project's images).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        apiserver_port: int = 0,
        durable: bool = True,
        pod_start_delay: float = 0.0,
        images: ImageSource | None = None,
        progress: Callable[[str], None] = _say,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.progress = progress
        self.images: ImageSource = images or ImageCatalog.project()
        self.control_plane = ControlPlane(
            self.data_dir,
            ensure_binaries(progress),
            apiserver_port=apiserver_port,
            durable=durable,
            progress=progress,
        )
        self.pod_start_delay = pod_start_delay
        self.kubelet: Kubelet | None = None

    @property
    def kubeconfig(self) -> Path:
        """The cluster admin's kubeconfig."""
        return self.control_plane.admin_kubeconfig

    @property
    def server_url(self) -> str:
        return self.control_plane.server_url

    def start(self, timeout: float = 120.0) -> None:
        """Start the control plane, then the kubelet; returns once the Node is Ready.

        Raises ControlPlaneError (having stopped what it started) on failure.
        """
        self.control_plane.start(timeout)
        try:
            self.start_kubelet()
            self.wait_node_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def start_kubelet(self) -> None:
        plane = self.control_plane
        config = KubeletConfig.from_pki(
            plane.pki,
            plane.server_url,
            self.data_dir / "kubelet",
            port=plane.ports.kubelet,
            pod_start_delay=self.pod_start_delay,
        )
        self.kubelet = Kubelet(config, self.images)
        try:
            self.kubelet.start_thread()
        except KubeletNotReady as exc:
            raise ControlPlaneError(f"The process kubelet did not start: {exc}") from exc

    def stop_kubelet(self) -> None:
        if self.kubelet is not None:
            self.kubelet.stop_thread()
            self.kubelet = None

    def stop(self) -> None:
        """Stop the kubelet (its pods' processes end with it), then the control plane."""
        self.stop_kubelet()
        self.control_plane.stop()

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- reads as the admin (no client library needed) ---------------------------

    def get(self, path: str) -> Any:
        """GET ``path`` from the API server as the admin; None for 404."""
        context: ssl.SSLContext = self.control_plane.admin_tls()
        try:
            with urllib.request.urlopen(
                self.server_url + path, timeout=10, context=context
            ) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def wait_node_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                node = self.get(f"/api/v1/nodes/{DEFAULT_NODE_NAME}")
            except (OSError, ValueError):
                node = None
            conditions = ((node or {}).get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"Node {DEFAULT_NODE_NAME} did not become Ready in {timeout:.0f} s; see "
                    f"the kubelet's messages above and {self.data_dir / 'logs'}."
                )
            time.sleep(0.2)
