"""The whole system for end-to-end tests: a fresh ledger database, the local
Kubernetes API with its job runner, the CRDs, and the operator as a process."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig, kubectl  # noqa: F401
from guestbook_operator.localsystem import LocalSystem, start_local_system
from operator_e2e import OPERATOR_ENV


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
