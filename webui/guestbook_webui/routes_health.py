"""Probes: ``/healthz`` (the process serves: liveness) and ``/readyz`` (it has read the
entries from Kubernetes: readiness)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from guestbook_webui.app_state import web_state


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    feed = web_state(request).feed
    if feed.synced.is_set():
        return JSONResponse({"status": "ready"})
    detail = feed.last_error or "the first list of entries has not arrived yet"
    return JSONResponse({"status": "not ready", "detail": detail}, 503)
