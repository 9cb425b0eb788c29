"""``/openapi.json`` describes exactly the routes the web UI serves, and the live web
UI (uvicorn on 127.0.0.1, the local Kubernetes API, PostgreSQL) keeps to it:
schemathesis generates requests from the document and checks every answer —
no 500, status codes, content types, headers and bodies as documented."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_localcluster.kubectl import Kubectl
from guestbook_webui.app import create_app
from guestbook_webui.openapi import DOCUMENT
from guestbook_webui.settings import WebSettings
from hypothesis import HealthCheck, settings
from starlette.routing import Route
from starlette.testclient import TestClient
from webui_server import serve, wait_until

schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_document_lists_exactly_the_apps_routes(
    make_app: Callable[..., Any], web_settings: Callable[..., WebSettings]
) -> None:
    app = create_app(web_settings())
    routes = {
        (route.path, method)
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {
        (path.replace("{path}", "{path:path}"), method.upper())
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
    }
    assert documented == routes
    assert DOCUMENT["openapi"].startswith("3.1")


def test_the_document_is_served(client: TestClient) -> None:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json() == DOCUMENT


@pytest.fixture
def live_url(
    crds: Kubectl, web_settings: Callable[..., WebSettings], signer: Ed25519PrivateKey
) -> Iterator[str]:
    """A real web UI whose ledger exists in the database; rate limits off (the
    generated requests come fast from one client; the limits have their own tests)."""
    settings = web_settings(requests_per_second=0, submissions_per_minute=0)
    with serve(create_app(settings), settings=settings) as url:
        import httpx

        wait_until(
            lambda: httpx.get(f"{url}/readyz", timeout=30).status_code == 200,
            timeout=60,
            what="the web UI to read the entries",
        )
        yield url


# /events never ends (a live stream); tests/webui/test_webui_events.py and the
# stream cap in test_webui_hardening.py check it.
@schema.exclude(path="/events").parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_live_web_ui_keeps_to_its_document(case: Any, live_url: str) -> None:
    # Every check but "schema-valid requests are accepted": some rules are beyond
    # a schema (a leaf index below the tree size, a continue token the API
    # server issued), and those requests get documented 400 problems instead.
    case.call_and_validate(
        base_url=live_url,
        timeout=60,
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
