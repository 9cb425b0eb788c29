"""Run a web UI app for a test: in a TestClient once it is ready, or (``serve``)
by uvicorn on 127.0.0.1, a free port, for tests that need a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

from chart_release import wait_until
from guestbook_webui.server import serve_in_thread as serve
from starlette.applications import Starlette
from starlette.testclient import TestClient

__all__ = ["ready_client", "serve", "wait_until"]


def ready_client(app: Starlette) -> Iterator[TestClient]:
    """Yield a TestClient of ``app`` once it has read the entries from Kubernetes."""
    with TestClient(app) as client:
        wait_until(
            lambda: client.get("/readyz").status_code == 200,
            timeout=60,
            what="the web UI to read the entries",
        )
        yield client
