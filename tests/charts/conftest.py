"""Fixtures of the chart tests: the local Kubernetes API, its kubeconfig, kubectl."""

from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig, kubectl

__all__ = ["devcluster", "kubeconfig", "kubectl"]
