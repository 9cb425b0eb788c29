"""Errors as RFC 9457 problem details (``application/problem+json``).

Each problem has a ``type`` naming the kind of error (a URN: stable, not a
link), a ``title`` that is the same for every occurrence, a ``detail`` sentence
that says what to do, and, for invalid input, ``errors`` with one JSON Pointer
per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from guestbook_webui.submission import FieldError

PROBLEM_JSON = "application/problem+json"
_URN = "urn:guestbook-ledger:problem:"

INVALID_ENTRY = _URN + "invalid-entry"
INVALID_PARAMETER = _URN + "invalid-parameter"
NOT_FOUND = _URN + "not-found"
CLUSTER_UNAVAILABLE = _URN + "cluster-unavailable"
CLUSTER_REFUSED = _URN + "cluster-refused"
LEDGER_DATABASE_UNAVAILABLE = _URN + "ledger-database-unavailable"
LEDGER_DATABASE_NOT_CONFIGURED = _URN + "ledger-database-not-configured"
CROSS_SITE_FORM = _URN + "cross-site-form"
UNSUPPORTED_MEDIA_TYPE = _URN + "unsupported-media-type"
TOO_LARGE = _URN + "request-too-large"
INVALID_TILE_PATH = _URN + "invalid-tile-path"
INVALID_ENTRY_NAME = _URN + "invalid-entry-name"
RATE_LIMITED = _URN + "rate-limited"
TOO_MANY_STREAMS = _URN + "too-many-event-streams"
REQUEST_TIMEOUT = _URN + "request-timeout"
EXPIRED_CURSOR = _URN + "expired-cursor"


class Problem(Exception):
    """An error to answer with problem details; raise it from any route."""

    def __init__(
        self,
        status: int,
        type: str,
        title: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        in_query: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.in_query = in_query

    def body(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            # RFC 9457 §3: "pointer" into a request body, "parameter" for a query parameter.
            where = "parameter" if self.in_query else "pointer"
            body["errors"] = [
                {where: error.field if self.in_query else error.pointer, "detail": error.detail}
                for error in self.errors
            ]
        return body


def problem_response(problem: Problem, instance: str = "") -> JSONResponse:
    return JSONResponse(problem.body(instance), problem.status, media_type=PROBLEM_JSON)


async def handle_problem(request: Request, exc: Exception) -> JSONResponse:
    """Starlette exception handler for Problem."""
    assert isinstance(exc, Problem)
    return problem_response(exc, request.url.path)


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 and 405 (no route matched the path or the method) as
    problem details too, so every error of the web UI has one shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        problem = not_found(f"Nothing is served at {request.url.path!r}; check the address.")
    else:
        problem = Problem(exc.status_code, _URN + "http", str(exc.detail), str(exc.detail))
    response = problem_response(problem, request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def not_found(what: str) -> Problem:
    return Problem(404, NOT_FOUND, "Not found", what)


def invalid_parameter(name: str, detail: str) -> Problem:
    return Problem(
        400,
        INVALID_PARAMETER,
        "Invalid query parameter",
        detail,
        errors=[FieldError(name, detail)],
        in_query=True,
    )
