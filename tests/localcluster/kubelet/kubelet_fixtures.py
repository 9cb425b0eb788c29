"""The process kubelet on the session's control plane, with a small image catalog.

`process_kubelet` registers node `local-node` once per session (pods of
every test in this folder run on it). Until the project's image catalog
(`guestbook_localcluster.images`) builds environments from Dockerfiles, the
images here are environments over this test run's own interpreter:

- `local/python:1`  ENTRYPOINT ["python"] CMD ["-c", "print('hello from the image')"]
- `local/http:1`    ENTRYPOINT ["python", "-m", "http.server"] CMD ["8080", "--bind", "0.0.0.0"]

Any other image has no local environment (ErrImagePull). (A plain module,
imported by this folder's conftest.py and tests.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubelet import Kubelet, KubeletConfig

NODE = "local-node"
PYTHON = Path(sys.executable)


@dataclass(frozen=True)
class ImageEnvironment:
    """Shaped as ``guestbook_localcluster.images.ImageEnvironment``."""

    image: str
    root: Path
    bin_dir: Path
    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None


class ImageNotAvailable(Exception):
    pass


IMAGES = {
    "local/python:1": ImageEnvironment(
        "local/python:1",
        PYTHON.parent.parent,
        PYTHON.parent,
        ["python"],
        ["-c", "print('hello from the image')"],
        {"IMAGE_GREETING": "from the image"},
    ),
    "local/http:1": ImageEnvironment(
        "local/http:1",
        PYTHON.parent.parent,
        PYTHON.parent,
        ["python", "-m", "http.server"],
        ["8080", "--bind", "0.0.0.0"],
    ),
}


class SampleImages:
    """An image catalog with the two images above."""

    def environment_for(self, image: str) -> ImageEnvironment:
        if image not in IMAGES:
            raise ImageNotAvailable(
                f'image "{image}" has no local environment: no Dockerfile in the catalog builds it'
            )
        return IMAGES[image]


def kubelet_config(plane: ControlPlane, node: str, state_dir: Path, port: int) -> KubeletConfig:
    client, serving = plane.kubelet_credentials(node)
    return KubeletConfig.from_credentials(
        plane.server_url, plane.pki.ca_cert, client, serving, state_dir, node_name=node, port=port
    )


@pytest.fixture(scope="session")
def process_kubelet(control_plane: ControlPlane) -> Iterator[Kubelet]:
    """The kubelet of node `local-node`, on the port the control plane reserved for it."""
    config = kubelet_config(
        control_plane, NODE, control_plane.data_dir / "kubelet", control_plane.ports.kubelet
    )
    kubelet = Kubelet(config, SampleImages())
    kubelet.start_thread()
    try:
        yield kubelet
    finally:
        kubelet.stop_thread()
