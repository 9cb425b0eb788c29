"""What the routes of a running web UI share, kept on ``app.state.web``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.templating import Jinja2Templates

from guestbook_webui.entry_feed import EntryFeed
from guestbook_webui.entry_fragments import EntryFragments
from guestbook_webui.kube import KubeApi
from guestbook_webui.ledger_reader import LedgerReader
from guestbook_webui.settings import WebSettings


@dataclass
class WebState:
    """``reader`` is None when no ledger database is configured."""

    settings: WebSettings
    kube: KubeApi
    feed: EntryFeed
    reader: LedgerReader | None
    templates: Jinja2Templates
    fragments: EntryFragments
    # GET / as last rendered, keyed by what it shows (feed version, tree head),
    # plain and gzip-compressed, and the tree head with the time it was read: a
    # page view under load costs neither a rendering of 100 entries, nor its
    # compression, nor a database query (decisions 0128, 0153).
    page_cache: tuple[Any, bytes, bytes] | None = None
    head_cache: tuple[float, dict[str, Any] | None] | None = field(default=None)


def web_state(request: Request) -> WebState:
    """The running application's WebState (set by its lifespan)."""
    state: WebState = request.app.state.web
    return state
