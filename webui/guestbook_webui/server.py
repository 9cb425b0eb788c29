"""Serve the web UI with uvicorn in a background thread (tests, benchmarks, and
local mode run it beside the other components in one process)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from guestbook_webui.http_timeouts import bounded_h11
from guestbook_webui.settings import WebSettings


def uvicorn_config(app: Starlette, settings: WebSettings, **options: object) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the timeouts of ``settings``: idle
    keep-alive, and a bound on slow headers and bodies (decision 0123).
    ``options`` go to uvicorn.Config as they are."""
    return uvicorn.Config(
        app,
        http=bounded_h11(settings.header_timeout, settings.body_timeout),
        timeout_keep_alive=settings.keep_alive_timeout,
        # Headers larger than this are refused by h11 (431-like 400) instead of buffered.
        h11_max_incomplete_event_size=32 * 1024,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; the
        # TrustedProxyMiddleware decides instead, from --trusted-proxies only.
        proxy_headers=False,
        **options,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def serve_in_thread(
    app: Starlette,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    settings: WebSettings | None = None,
) -> Iterator[str]:
    """Yield the base URL (``http://HOST:PORT``) while ``app`` is served; ``port`` 0
    picks a free one; ``settings`` give the server's timeouts (default: the
    defaults). Raises OSError when the port is taken, RuntimeError when the app
    fails to start (its lifespan raised; the log says why)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    # Open event streams would hold a graceful shutdown forever; give them 1 s.
    config = uvicorn_config(
        app,
        settings or WebSettings(),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="webui", daemon=True
    )
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the web UI failed to start; see the log above")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
