"""The whole system for end-to-end tests: the Helm chart installed in the test's
namespace (the operator as its Deployment pod, worker and audit Jobs through the
Job controller) with a fresh ledger database (`release`, tests/chart_release.py)."""

from __future__ import annotations

import pytest
from chart_release import Release


@pytest.fixture
def system(release: Release) -> Release:
    """The chart installed with the operator running, serving the test's namespace."""
    release.start_operator()
    return release
