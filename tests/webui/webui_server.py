"""Run a web UI app for a test: in a TestClient once it is ready, or (``serve``)
by uvicorn on 127.0.0.1, a free port, for tests that need a real HTTP server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from guestbook_webui.server import serve_in_thread as serve
from starlette.applications import Starlette
from starlette.testclient import TestClient

__all__ = ["ready_client", "serve", "wait_until"]

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float, what: str) -> T:
    """Poll ``predicate()`` until it returns something truthy; return that.

    Raises TimeoutError naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)
    return result


def ready_client(app: Starlette) -> Iterator[TestClient]:
    """Yield a TestClient of ``app`` once it has read the entries from Kubernetes."""
    with TestClient(app) as client:
        wait_until(
            lambda: client.get("/readyz").status_code == 200,
            timeout=60,
            what="the web UI to read the entries",
        )
        yield client
