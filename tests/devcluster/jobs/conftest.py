"""Fixtures for job runner tests: a kubernetes client, a directory shared with pods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    """A kubernetes-client ApiClient for the test's cluster."""
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig)
    )
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def marker_dir(tmp_path: Path) -> Path:
    """A directory pods and the test share for signals (files)."""
    path = tmp_path / "markers"
    path.mkdir()
    return path
