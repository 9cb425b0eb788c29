"""The process kubelet: a Node of the local cluster whose pods run as local processes.

Upstream has no kubelet without a container runtime, so this one is the
project's own. It is an ordinary client of kube-apiserver with a node's
credentials (``system:node:<name>``), and serves the kubelet API for logs.
See ``localcluster/README.md`` for how it differs from a real kubelet.
"""

from .config import DEFAULT_NODE_NAME, ImageEnvironmentLike, ImageSource, KubeletConfig
from .kubelet import Kubelet, KubeletNotReady

__all__ = [
    "DEFAULT_NODE_NAME",
    "ImageEnvironmentLike",
    "ImageSource",
    "Kubelet",
    "KubeletConfig",
    "KubeletNotReady",
]
