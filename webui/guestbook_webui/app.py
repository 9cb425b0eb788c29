"""The web UI application, assembled explicitly.

    app = create_app(WebSettings(namespace="default", ledger="guestbook", dsn=...))

Its lifespan opens the Kubernetes client, starts the entry feed (one list and
watch shared by every browser) and the read-only ledger database reader, and
closes them again on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from guestbook_webui import (
    openapi,
    routes_api,
    routes_events,
    routes_health,
    routes_pages,
    routes_proof_files,
    routes_tiles,
)
from guestbook_webui.app_state import WebState
from guestbook_webui.entry_feed import EntryFeed
from guestbook_webui.entry_fragments import EntryFragments
from guestbook_webui.entry_view import (
    display_time,
    failure,
    has_direction_controls,
    phase,
    short_hash,
)
from guestbook_webui.kube import KubeApi
from guestbook_webui.ledger_reader import LedgerReader
from guestbook_webui.middleware import (
    CrossOriginMiddleware,
    RateLimitMiddleware,
    SecurityHeadersMiddleware,
    TrustedProxyMiddleware,
)
from guestbook_webui.problems import Problem, handle_http_exception, handle_problem
from guestbook_webui.settings import WebSettings

HERE = Path(__file__).parent


@jinja2.pass_context
def path_for(context: Any, name: str, /, **path_params: Any) -> str:
    """The path of route ``name``: links stay relative, so no page ever repeats
    the request's Host header (decision 0126)."""
    return str(context["request"].app.url_path_for(name, **path_params))


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals["path_for"] = path_for
    templates.env.filters["short_hash"] = short_hash
    templates.env.filters["display_time"] = display_time
    templates.env.globals["phase"] = phase
    templates.env.globals["failure"] = failure
    templates.env.globals["has_direction_controls"] = has_direction_controls
    return templates


def _get(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["GET"], name=name)


def create_app(settings: WebSettings, *, kube: KubeApi | None = None) -> Starlette:
    """The Starlette app for ``settings``. ``kube`` defaults to a client from
    ``settings.kubeconfig`` (made when the app starts; KubeUnavailableError then
    when no configuration is usable)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = kube if kube is not None else KubeApi.from_kubeconfig(settings.kubeconfig)
        feed = EntryFeed(client, settings.namespace, settings.ledger, window=settings.feed_window)
        reader = LedgerReader(settings.dsn, settings.ledger_name) if settings.dsn else None
        templates = _templates()
        fragments = EntryFragments(templates.env)
        app.state.web = WebState(settings, client, feed, reader, templates, fragments)
        task = asyncio.create_task(feed.run(), name="entry-feed")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if reader is not None:
                reader.close()
            await client.aclose()

    routes = [
        _get("/", routes_pages.index, "index"),
        Route("/entries", routes_pages.create_entry, methods=["POST"], name="create_entry"),
        _get("/how-to-verify", routes_pages.how_to_verify, "how_to_verify"),
        _get("/entries/{name}/verify", routes_pages.verify, "verify"),
        _get("/events", routes_events.events, "events"),
        _get("/api/entries", routes_api.list_entries, "api_entries"),
        _get("/api/entries/{name}", routes_api.get_entry, "api_entry"),
        _get("/api/entries/{name}/proof", routes_proof_files.proof_file, "proof_file"),
        _get("/api/ledger", routes_api.ledger, "api_ledger"),
        _get("/api/proofs/inclusion", routes_api.inclusion, "inclusion"),
        _get("/api/proofs/consistency", routes_api.consistency, "consistency"),
        _get("/api/public-key", routes_api.public_key, "public_key"),
        _get("/api/verifiers", routes_api.verifiers, "api_verifiers"),
        _get("/api/checkpoints", routes_api.checkpoints, "api_checkpoints"),
        _get("/ledger", routes_pages.ledger_history, "ledger_history"),
        # The read API of C2SP tlog-tiles, at the root as the spec places it.
        _get("/checkpoint", routes_tiles.checkpoint, "checkpoint"),
        _get("/tile/{path:path}", routes_tiles.tile, "tile"),
        _get("/openapi.json", openapi.openapi_json, "openapi"),
        _get("/healthz", routes_health.healthz, "healthz"),
        _get("/readyz", routes_health.readyz, "readyz"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        # Outermost first: who the client is, then headers on every answer (429s
        # included), the rate limit, the cross-site check.
        Middleware(TrustedProxyMiddleware, settings=settings),
        Middleware(SecurityHeadersMiddleware, settings=settings),
        Middleware(RateLimitMiddleware, settings=settings),
        Middleware(CrossOriginMiddleware, settings=settings),
        Middleware(GZipMiddleware, minimum_size=1024),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={Problem: handle_problem, HTTPException: handle_http_exception},
        lifespan=lifespan,
    )
