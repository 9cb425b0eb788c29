"""Kubernetes API failures as problem details a web client can act on."""

from __future__ import annotations

from guestbook_kube.client import ApiError

from guestbook_webui.kube import KubeUnavailableError
from guestbook_webui.problems import (
    CLUSTER_REFUSED,
    CLUSTER_UNAVAILABLE,
    INVALID_ENTRY,
    Problem,
)
from guestbook_webui.submission import FieldError

# spec.<field> in a Kubernetes field error -> the field of our JSON body.
_FIELDS = {"spec.author": "author", "spec.message": "message", "spec.ledger": "ledger"}


def field_errors(exc: ApiError) -> list[FieldError]:
    """The causes of a 422 Invalid Status, named by our body's fields."""
    errors = []
    for cause in (exc.status.get("details") or {}).get("causes") or ():
        field = str(cause.get("field") or "")
        # A field outside our body keeps its Kubernetes path, as a JSON Pointer.
        ours = _FIELDS.get(field) or (field or "spec").replace(".", "/")
        errors.append(FieldError(ours, str(cause.get("message") or "")))
    return errors


def kube_problem(exc: ApiError | KubeUnavailableError) -> Problem:
    """The problem to answer with when the Kubernetes API failed with ``exc``."""
    if isinstance(exc, KubeUnavailableError):
        return Problem(503, CLUSTER_UNAVAILABLE, "Kubernetes API unavailable", str(exc))
    if exc.code == 422:
        return Problem(
            422,
            INVALID_ENTRY,
            "Invalid guestbook entry",
            f"Kubernetes refused the entry: {exc}",
            errors=field_errors(exc),
        )
    if exc.code == 404:
        return Problem(
            503,
            CLUSTER_REFUSED,
            "Guestbook not installed",
            "The cluster has no GuestbookEntry resource in this namespace "
            f"({exc}); apply the CRDs from crds/ (or install the Helm chart).",
        )
    if exc.code in (401, 403):
        return Problem(
            502,
            CLUSTER_REFUSED,
            "Not allowed by the cluster",
            f"The cluster does not allow the web UI this request ({exc}); "
            "grant its service account access to guestbookentries.",
        )
    return Problem(502, CLUSTER_REFUSED, "Kubernetes API error", f"The cluster refused: {exc}")
