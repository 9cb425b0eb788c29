"""Fixtures for the web UI tests: the local Kubernetes API with the project's CRDs,
a fresh ledger database, and the web UI on top (TestClient, or a real server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_devcluster.kubectl import Kubectl
from guestbook_devcluster.pytest_fixtures import devcluster, kubeconfig, kubectl
from guestbook_ledger.store import Connection, ensure_ledger, open_store
from guestbook_webui.app import create_app
from guestbook_webui.settings import WebSettings
from starlette.applications import Starlette
from starlette.testclient import TestClient
from webui_server import ready_client

__all__ = ["devcluster", "kubeconfig", "kubectl"]

CRDS = Path(__file__).resolve().parents[2] / "crds"
LEDGER = "default/guestbook"


@pytest.fixture
def crds(kubectl: Kubectl) -> Kubectl:
    """The devcluster with the GuestbookEntry and Ledger CRDs established."""
    for name in ("guestbookentries.yaml", "ledgers.yaml"):
        kubectl("apply", "-f", str(CRDS / name))
    kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/guestbookentries.ledger.guestbook.io",
        "crd/ledgers.ledger.guestbook.io",
    )
    return kubectl


@pytest.fixture
def store(ledger_dsn: str) -> Iterator[Connection]:
    conn = open_store(ledger_dsn)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def signer(store: Connection) -> Ed25519PrivateKey:
    """A key registered to sign the tree heads of default/guestbook (ledger created)."""
    key = Ed25519PrivateKey.generate()
    ensure_ledger(store, LEDGER, public_key=key.public_key())
    return key


@pytest.fixture
def make_app(kubeconfig: Path, crds: Kubectl, ledger_dsn: str) -> Callable[..., Starlette]:
    """make_app(**settings) -> the web UI app for the devcluster and the ledger database."""

    def make(**overrides: Any) -> Starlette:
        values: dict[str, Any] = {"kubeconfig": str(kubeconfig), "dsn": ledger_dsn}
        values.update(overrides)
        return create_app(WebSettings(**values))

    return make


@pytest.fixture
def client(make_app: Callable[..., Starlette]) -> Iterator[TestClient]:
    """A TestClient of the web UI, once it has read the entries from Kubernetes."""
    yield from ready_client(make_app())
