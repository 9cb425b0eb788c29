"""Pytest fixtures for a running local API server; import them in a conftest.py:

    from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig, kubectl  # noqa: F401

``devcluster`` yields a fresh running ``DevCluster`` per test; ``kubeconfig``
is the path of a kubeconfig for it (also exported as ``KUBECONFIG``);
``kubectl`` runs the real kubectl against it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl


@pytest.fixture
def devcluster() -> Iterator[DevCluster]:
    with DevCluster(bookmark_interval=1.0) as cluster:
        yield cluster


@pytest.fixture
def kubeconfig(devcluster: DevCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = devcluster.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    # The kubernetes client reads $KUBECONFIG once, at import; point it here too
    # so that Kopf's login and load_kube_config() find this cluster.
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    return path


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    """The real kubectl bound to the ``devcluster`` (own discovery cache)."""
    return Kubectl(kubeconfig, tmp_path / "kube-cache")
