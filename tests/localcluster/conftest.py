from cluster_fixtures import admin_kubectl, control_plane, kubeconfig, kubectl, namespace

__all__ = ["admin_kubectl", "control_plane", "kubeconfig", "kubectl", "namespace"]
