"""Fixtures for the web UI tests: the session's control plane with the project's
CRDs and a namespace per test, a fresh ledger database, and the web UI on top
(TestClient, or a real server) serving that namespace's guestbook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from guestbook_localcluster.kubectl import Kubectl
from guestbook_webui.app import create_app
from guestbook_webui.settings import WebSettings
from starlette.applications import Starlette
from starlette.testclient import TestClient
from webui_server import ready_client


@pytest.fixture
def ledger(ledger_ref: str) -> str:
    """The ledger the web UI signs, as the database names it: ``<namespace>/guestbook``
    (``store`` and ``signer`` come from tests/conftest.py)."""
    return ledger_ref


@pytest.fixture
def web_settings(kubeconfig: Path, namespace: str, ledger_dsn: str) -> Callable[..., WebSettings]:
    """web_settings(**overrides) -> settings for the test's namespace and database."""

    def settings(**overrides: Any) -> WebSettings:
        values: dict[str, Any] = {
            "kubeconfig": str(kubeconfig),
            "namespace": namespace,
            "dsn": ledger_dsn,
        }
        values.update(overrides)
        return WebSettings(**values)

    return settings


@pytest.fixture
def make_app(crds: Kubectl, web_settings: Callable[..., WebSettings]) -> Callable[..., Starlette]:
    """make_app(**settings) -> the web UI app for the test's namespace and database."""

    def make(**overrides: Any) -> Starlette:
        return create_app(web_settings(**overrides))

    return make


@pytest.fixture
def client(make_app: Callable[..., Starlette]) -> Iterator[TestClient]:
    """A TestClient of the web UI, once it has read the entries from Kubernetes."""
    yield from ready_client(make_app())
