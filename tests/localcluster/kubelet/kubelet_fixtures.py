"""Helpers of the kubelet tests: a second kubelet's config (the session's node is
`local-node`, from tests/cluster_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubelet import KubeletConfig
from sample_images import SampleImages

__all__ = ["NODE", "SampleImages", "kubelet_config"]

NODE = "local-node"


def kubelet_config(plane: ControlPlane, node: str, state_dir: Path, port: int) -> KubeletConfig:
    client, serving = plane.kubelet_credentials(node)
    return KubeletConfig.from_credentials(
        plane.server_url, plane.pki.ca_cert, client, serving, state_dir, node_name=node, port=port
    )
