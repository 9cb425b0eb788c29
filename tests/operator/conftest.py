"""Fixtures of the operator tests.

The in-process tests run against the real control plane of tests/conftest.py
(``control_plane``, ``namespace``, ``kubeconfig``, ``kubectl``); here they
get its audit log for their namespace and a fault-injecting proxy in front of
it. ``system`` is the whole system for end-to-end tests: a fresh ledger
database, the local Kubernetes API with its job runner, the CRDs, and the
operator as a process.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_proxy import FaultProxy
from audit_trail import AuditTrail
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_operator.localsystem import LocalSystem, start_local_system
from operator_e2e import OPERATOR_ENV


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
def system(ledger_dsn: str) -> Iterator[LocalSystem]:
    # Not pytest's tmp_path: pod processes and PostgreSQL may run as other users.
    state = Path(tempfile.mkdtemp(prefix="guestbook-e2e-"))
    local = start_local_system(state, ledger_dsn, operator_env=OPERATOR_ENV)
    try:
        local.start_operator()
        yield local
    finally:
        local.stop()
        if local.operator_log is not None and local.operator_log.exists():
            # Shown by pytest only when the test failed.
            print(local.operator_log.read_text(errors="replace")[-20_000:])
        shutil.rmtree(state, ignore_errors=True)
