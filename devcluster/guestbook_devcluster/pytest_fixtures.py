"""Pytest fixtures for a running local API server; import them in a conftest.py:

    from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig  # noqa: F401

``devcluster`` yields a fresh running ``DevCluster`` per test; ``kubeconfig``
is the path of a kubeconfig for it (also exported as ``KUBECONFIG``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guestbook_devcluster.cluster import DevCluster


@pytest.fixture
def devcluster() -> Iterator[DevCluster]:
    with DevCluster(bookmark_interval=1.0) as cluster:
        yield cluster


@pytest.fixture
def kubeconfig(devcluster: DevCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = devcluster.write_kubeconfig(tmp_path / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path
