"""Kubernetes API errors as exceptions that render to ``Status`` objects.

Every error a client meets leaves the server as a ``kind: Status`` body with the
HTTP code and ``reason`` a real API server would use, so client libraries map
them to their own exception types unchanged.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A failed API request; ``status()`` is the body sent to the client."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retry_after = retry_after

    def status(self) -> dict[str, Any]:
        """The ``Status`` object describing this error."""
        details: dict[str, Any] = {}
        if self.name is not None:
            details["name"] = self.name
        if self.group:  # the core group is left out, as the API server does
            details["group"] = self.group
        if self.kind is not None:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if details:
            body["details"] = details
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, group: str, name: str) -> ApiError:
    """404: the named object does not exist."""
    return ApiError(
        404,
        "NotFound",
        f'{_qualified(resource, group)} "{name}" not found',
        name=name,
        group=group,
        kind=resource,
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    """409: an object with this name exists already."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{_qualified(resource, group)} "{name}" already exists',
        name=name,
        group=group,
        kind=resource,
    )


def conflict(resource: str, group: str, name: str, why: str) -> ApiError:
    """409: the write was based on a stale resourceVersion (or a precondition failed)."""
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
        name=name,
        group=group,
        kind=resource,
    )


def uid_precondition_failed(
    resource: str, group: str, name: str, wanted: str, stored: str
) -> ApiError:
    """409 Conflict: a uid precondition names another object than the stored one.

    ``stored`` is empty when no object has the name. kube-apiserver wraps this
    text in its storage error (``StorageError: invalid object, Code: 4, ...``).
    """
    return conflict(
        resource,
        group,
        name,
        f"Precondition failed: UID in precondition: {wanted}, UID in object meta: {stored}",
    )


def stale_conflict(resource: str, group: str, name: str) -> ApiError:
    """409 Conflict for an update whose resourceVersion is not the current one."""
    return conflict(
        resource,
        group,
        name,
        "the object has been modified; please apply your changes to the latest version "
        "and try again",
    )


def invalid(kind: str, group: str, name: str, causes: list[dict[str, Any]]) -> ApiError:
    """422: the object violates its schema; ``causes`` lists every violated field."""
    summary = ", ".join(
        f"{c.get('field', '')}: {c.get('message', '')}".lstrip(": ") for c in causes
    )
    return ApiError(
        422,
        "Invalid",
        f'{kind}.{group} "{name}" is invalid: {summary}'
        if group
        else f'{kind} "{name}" is invalid: {summary}',
        name=name,
        group=group,
        kind=kind,
        causes=causes,
    )


def bad_request(message: str) -> ApiError:
    """400: the request itself is malformed."""
    return ApiError(400, "BadRequest", message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    """405: the verb is not supported on this path."""
    return ApiError(405, "MethodNotAllowed", message)


def gone(message: str) -> ApiError:
    """410: the requested resourceVersion is older than the kept history."""
    return ApiError(410, "Expired", message)


def forbidden(
    message: str, *, name: str | None = None, group: str | None = None, kind: str | None = None
) -> ApiError:
    """403: the request is refused (e.g. a namespace is being terminated)."""
    return ApiError(403, "Forbidden", message, name=name, group=group, kind=kind)


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    """415: the body's Content-Type is not one this endpoint reads."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format ({content_type or 'none'}) - "
        f"accepted media types include: {', '.join(accepted)}",
    )


def not_acceptable(message: str) -> ApiError:
    """406: no representation the client accepts can be produced."""
    return ApiError(406, "NotAcceptable", message)


def internal(message: str) -> ApiError:
    """500: an unexpected failure inside the server (never a traceback to the client)."""
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")
