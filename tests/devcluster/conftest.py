"""Fixtures for the local API server tests: a running cluster, its kubeconfig, kubectl."""

from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig, kubectl

__all__ = ["devcluster", "kubeconfig", "kubectl"]
