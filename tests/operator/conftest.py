"""The whole system for end-to-end tests: the Helm chart installed in the test's
namespace (the operator as its Deployment pod, worker and audit Jobs through the
Job controller) with a fresh ledger database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chart_release import Release
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.kubelet import Kubelet


@pytest.fixture
def release(
    namespace: str,
    kubeconfig: Path,
    kubectl: Kubectl,
    process_kubelet: Kubelet,
    crds: Kubectl,
    ledger_dsn: str,
) -> Iterator[Release]:
    """The chart's release in the test's namespace, not installed yet (tests that
    need another database or namespace labels first set them, then install)."""
    found = Release(namespace, kubeconfig, kubectl, process_kubelet, ledger_dsn)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture
def system(release: Release) -> Release:
    """The chart installed with the operator running, serving the test's namespace."""
    release.start_operator()
    return release
