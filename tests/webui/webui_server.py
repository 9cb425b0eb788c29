"""Run a web UI app for a test: in a TestClient once it is ready, or served by
uvicorn on 127.0.0.1 (a free port) in a thread, for the tests that need a real
HTTP server: event streams and the browser."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from guestbook_operator.localsystem import wait_until
from starlette.applications import Starlette
from starlette.testclient import TestClient


def ready_client(app: Starlette) -> Iterator[TestClient]:
    """Yield a TestClient of ``app`` once it has read the entries from Kubernetes."""
    with TestClient(app) as client:
        wait_until(
            lambda: client.get("/readyz").status_code == 200,
            timeout=60,
            what="the web UI to read the entries",
        )
        yield client


@contextlib.contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) while ``app`` is served."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webui", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web UI did not start; see the log above")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
