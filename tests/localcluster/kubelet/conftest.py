from cluster_fixtures import admin_kubectl, control_plane, kubeconfig, kubectl, namespace
from kubelet_fixtures import process_kubelet

__all__ = [
    "admin_kubectl",
    "control_plane",
    "kubeconfig",
    "kubectl",
    "namespace",
    "process_kubelet",
]
