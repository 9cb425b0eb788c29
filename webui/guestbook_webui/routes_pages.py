"""The pages people see, and signing the guestbook (``POST /entries``).

``POST /entries`` takes a browser form or JSON. A browser gets the page again:
after success a redirect to it (the new entry on top, Pending), after invalid
input the form with what was typed and what is wrong. A JSON client gets the
entry (201) or RFC 9457 problem details. Nothing is created on bad input.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from guestbook_kube.client import ApiError
from guestbook_ledger.store import StoreError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from guestbook_webui.app_state import WebState, web_state
from guestbook_webui.entry_names import checked_entry_name
from guestbook_webui.entry_view import entry_json
from guestbook_webui.json_depth import MAX_DEPTH, nests_deeper_than
from guestbook_webui.kube import KubeUnavailableError
from guestbook_webui.kube_problems import kube_problem
from guestbook_webui.problems import (
    INVALID_ENTRY,
    REQUEST_TIMEOUT,
    TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    Problem,
    problem_response,
)
from guestbook_webui.submission import (
    FieldError,
    InvalidSubmission,
    parse_submission,
    shown_text,
)

NOT_SIGNED = "Your entry was not signed: correct what is marked below."
MAX_BODY = 64 * 1024
"""Largest request body read: a full message is at most 8000 bytes of UTF-8."""


def wants_json(request: Request) -> bool:
    """True for API clients: a JSON body, or an Accept header that prefers JSON."""
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


async def _read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Problem(
                413,
                TOO_LARGE,
                "Request too large",
                f"The request body is over {MAX_BODY} bytes; a message has at most 2000 "
                "characters.",
            )
    return body


async def read_fields(request: Request, timeout: float) -> dict[str, object]:
    """The submitted fields of a JSON object or URL-encoded form body, read within
    ``timeout`` seconds (a slow body must not hold the connection; decision 0123).

    Raises Problem 413 for a body over MAX_BODY, 408 when it takes too long or
    the client went away, 415 for another media type, 400 for a body that does
    not parse or nests deeper than MAX_DEPTH.
    """
    try:
        async with asyncio.timeout(timeout):
            body = await _read_body(request)
    except (TimeoutError, ClientDisconnect):
        raise Problem(
            408,
            REQUEST_TIMEOUT,
            "Request body too slow",
            f"The request body did not arrive within {timeout:g} s; send it again.",
        ) from None
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == "application/json":
            if nests_deeper_than(body, MAX_DEPTH):
                raise Problem(
                    400,
                    INVALID_ENTRY,
                    "Request body nested too deeply",
                    f"The JSON body nests more than {MAX_DEPTH} levels deep; send a flat "
                    'object such as {"author": "Ada", "message": "Hello"}.',
                )
            fields = json.loads(body)
            if not isinstance(fields, dict):
                raise ValueError("not an object")
            return fields
        if media_type == "application/x-www-form-urlencoded":
            text = body.decode("utf-8")
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=20))
    except ValueError:
        raise Problem(
            400,
            INVALID_ENTRY,
            "Malformed request body",
            'Send a JSON object such as {"author": "Ada", "message": "Hello"}, '
            "or a form with the fields author and message.",
        ) from None
    raise Problem(
        415,
        UNSUPPORTED_MEDIA_TYPE,
        "Unsupported media type",
        "Send the entry as application/json or application/x-www-form-urlencoded.",
    )


HEAD_CACHE_SECONDS = 1.0
"""How old the page's tree-head summary may be (the checkpoint itself is cached 2 s)."""


async def tree_head(state: WebState) -> dict[str, Any] | None:
    """The latest signed tree head for the page's summary (at most HEAD_CACHE_SECONDS
    old); None when there is no database, no head yet, or the database fails
    (the page works without it)."""
    if state.reader is None:
        return None
    now = time.monotonic()
    if state.head_cache is not None:
        if now - state.head_cache[0] < HEAD_CACHE_SECONDS:
            return state.head_cache[1]
        # One query at a time: page views arriving meanwhile show the last head.
        state.head_cache = (now, state.head_cache[1])
    try:
        head = await state.reader.latest_tree_head()
    except (StoreError, ValueError):
        return None
    summary = None if head is None else head.to_dict()
    state.head_cache = (now, summary)
    return summary


async def render_index(
    request: Request,
    state: WebState,
    *,
    status_code: int = 200,
    author: str = "",
    message: str = "",
    errors: list[FieldError] | None = None,
    alert: str = "",
) -> Response:
    settings = state.settings
    shown = state.feed.entries(settings.page_size)
    by_field: dict[str, str] = {}
    for error in errors or ():
        by_field.setdefault(error.field, error.detail)
    context: dict[str, Any] = {
        "settings": settings,
        "entries": shown,
        "entry_html": state.fragments.render(shown),
        "synced": state.feed.synced.is_set(),
        "author": author,
        "message": message,
        "errors": by_field,
        "alert": alert,
        "head": await tree_head(state),
        "not_signed": NOT_SIGNED,
    }
    return state.templates.TemplateResponse(request, "index.html", context, status_code)


async def index(request: Request) -> Response:
    """``GET /``: the form and the entries, newest first (rendered and compressed
    once per change, decisions 0128 and 0153)."""
    state = web_state(request)
    head = await tree_head(state)
    key = (state.feed.version, state.feed.synced.is_set(), json.dumps(head, sort_keys=True))
    if state.page_cache is None or state.page_cache[0] != key:
        rendered = await render_index(request, state)
        body = bytes(rendered.body)
        state.page_cache = (key, body, gzip.compress(body, compresslevel=6, mtime=0))
    _, body, compressed = state.page_cache
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return HTMLResponse(body)  # the GZip middleware adds Vary
    # The GZip middleware passes an answer that has its Content-Encoding already.
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return HTMLResponse(compressed, headers=headers)


async def create_entry(request: Request) -> Response:
    """``POST /entries``: create a GuestbookEntry (generateName ``entry-``)."""
    state = web_state(request)
    as_json = wants_json(request)
    fields: dict[str, object] = {}
    try:
        fields = await read_fields(request, state.settings.body_timeout)
        submission = parse_submission(fields)
        created = await state.kube.create_entry(
            state.settings.namespace,
            ledger=state.settings.ledger,
            author=submission.author,
            message=submission.message,
        )
    except InvalidSubmission as exc:
        problem = Problem(
            422, INVALID_ENTRY, "Invalid guestbook entry", str(exc), errors=exc.errors
        )
        author, message, alert = exc.author, exc.message, NOT_SIGNED
    except (Problem, ApiError, KubeUnavailableError) as exc:
        problem = exc if isinstance(exc, Problem) else kube_problem(exc)
        author, message = shown_text(fields.get("author")), shown_text(fields.get("message"))
        alert = problem.detail
    else:
        state.feed.remember(created)
        body = entry_json(created)
        if as_json:
            location = request.url_for("api_entry", name=body["name"]).path
            return JSONResponse(body, 201, headers={"Location": location})
        return RedirectResponse(f"/#gbe-{body['name']}", status_code=303)
    if as_json:
        return problem_response(problem, request.url.path)
    return await render_index(
        request,
        state,
        status_code=problem.status,
        author=author,
        message=message,
        errors=problem.errors,
        alert=alert,
    )


async def verify(request: Request) -> Response:
    """``GET /entries/{name}/verify``: the page that checks one entry in the browser."""
    state = web_state(request)
    name = checked_entry_name(request.path_params["name"])
    context = {"settings": state.settings, "name": name}
    return state.templates.TemplateResponse(request, "verify.html", context)


async def how_to_verify(request: Request) -> Response:
    """``GET /how-to-verify``: how to check the ledger without trusting this server.

    The commands show the configured public URL, never the request's Host
    header (a forged Host must not put another server in them; decision 0126);
    without one they say where to put this server's address."""
    state = web_state(request)
    base = state.settings.public_url and state.settings.public_base
    context = {"settings": state.settings, "base": base or "https://GUESTBOOK-ADDRESS/"}
    return state.templates.TemplateResponse(request, "how_to_verify.html", context)


async def ledger_history(request: Request) -> Response:
    """``GET /ledger``: the ledger's checkpoint history, verified in the browser."""
    state = web_state(request)
    context = {"settings": state.settings}
    return state.templates.TemplateResponse(request, "ledger.html", context)
