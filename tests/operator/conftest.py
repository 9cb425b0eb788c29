"""Fixtures of the operator tests.

The in-process tests run against the real control plane of tests/conftest.py
(``control_plane``, ``namespace``, ``kubeconfig``, ``kubectl``); here they
get its audit log for their namespace and a fault-injecting proxy in front of
it. ``system`` is the whole system for end-to-end tests: the Helm chart
installed in the test's namespace (the operator as its Deployment pod, worker
and audit Jobs through the Job controller) with a fresh ledger database
(``release``, tests/chart_release.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_proxy import FaultProxy
from audit_trail import AuditTrail
from chart_release import Release
from guestbook_localcluster.controlplane import ControlPlane


@pytest.fixture
def audit(control_plane: ControlPlane, namespace: str) -> AuditTrail:
    """The API server's audit log of the test's namespace, from the test's start."""
    return AuditTrail(control_plane.audit_log, namespace)


@pytest.fixture
def fault_proxy(control_plane: ControlPlane) -> Iterator[FaultProxy]:
    """An HTTPS proxy in front of kube-apiserver (for bearer tokens) that fails on cue."""
    serving = control_plane.pki.serving("test-fault-proxy", ("localhost",), ("127.0.0.1",))
    with FaultProxy(
        control_plane.server_url, control_plane.pki.ca_cert, serving.cert, serving.key
    ) as proxy:
        yield proxy


@pytest.fixture
def system(release: Release) -> Release:
    """The chart installed with the operator running, serving the test's namespace."""
    release.start_operator()
    return release
