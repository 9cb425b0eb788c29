"""``GET /events``: live entry changes as Server-Sent Events.

The stream opens with a ``snapshot`` event (this ledger's entries, newest first,
as ``GET /api/entries`` returns them), then sends an ``entry`` event for each
entry created or changed and a ``deleted`` event for each one removed, every
one carrying the entry's JSON. A comment line every HEARTBEAT_SECONDS keeps
proxies from closing an idle stream. A browser's EventSource reconnects by
itself after a break and starts again from a fresh snapshot, so it never
misses a change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from guestbook_webui.app_state import web_state
from guestbook_webui.entry_feed import Overflow
from guestbook_webui.entry_view import entry_json
from guestbook_webui.problems import TOO_MANY_STREAMS, Problem, problem_response

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000
FULL_RETRY_SECONDS = 30


def sse_event(event: str, data: Any) -> str:
    """One SSE event; ``data`` as compact JSON on a single line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def events(request: Request) -> Response:
    """The stream; 503 with Retry-After when ``max_event_streams`` are open already
    (decision 0128: the page then polls /api/entries instead)."""
    state = web_state(request)
    feed = state.feed
    limit = state.settings.page_size
    if feed.subscribers >= state.settings.max_event_streams:
        problem = Problem(
            503,
            TOO_MANY_STREAMS,
            "Too many live streams",
            f"This server already sends live updates to {state.settings.max_event_streams} "
            f"pages; reload in {FULL_RETRY_SECONDS} s, or read /api/entries meanwhile.",
        )
        response = problem_response(problem, request.url.path)
        response.headers["Retry-After"] = str(FULL_RETRY_SECONDS)
        return response

    async def stream() -> AsyncIterator[str]:
        async with feed.subscribe() as subscription:
            yield f"retry: {RETRY_MILLISECONDS}\n\n"
            if not feed.synced.is_set():
                yield ": waiting for the first list of entries\n\n"
                while not feed.synced.is_set():
                    try:
                        await asyncio.wait_for(feed.synced.wait(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            items = [entry_json(entry) for entry in feed.entries(limit)]
            yield sse_event("snapshot", {"items": items})
            while True:
                try:
                    change = await subscription.next(HEARTBEAT_SECONDS)
                except (Overflow, EOFError):
                    return  # the browser reconnects and starts from a new snapshot
                if change is None:
                    yield ": keep-alive\n\n"
                else:
                    yield sse_event(change.kind, entry_json(change.entry))

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
