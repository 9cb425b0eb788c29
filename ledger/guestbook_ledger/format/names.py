"""Ledger names (``<namespace>/<name>``) and RFC 3339 timestamps as they appear in
records and tree heads."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_NAMESPACE = re.compile(_DNS_LABEL)
_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_MAX_SUBDOMAIN_LENGTH = 253
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def is_namespace(text: str) -> bool:
    """True when ``text`` is a valid Kubernetes namespace (an RFC 1123 label)."""
    return _NAMESPACE.fullmatch(text) is not None


def is_object_name(text: str) -> bool:
    """True when ``text`` is a valid Kubernetes object name (an RFC 1123 subdomain)."""
    return len(text) <= _MAX_SUBDOMAIN_LENGTH and _SUBDOMAIN.fullmatch(text) is not None


def ledger_name(namespace: str, name: str) -> str:
    """Return the ledger's full name ``<namespace>/<name>``.

    Raises ``ValueError`` when either part is not a valid Kubernetes name.
    """
    full = f"{namespace}/{name}"
    parse_ledger_name(full)
    return full


def parse_ledger_name(text: str) -> tuple[str, str]:
    """Split ``<namespace>/<name>`` into its parts.

    Raises ``ValueError`` with a sentence saying what is wrong when ``text`` is
    not a namespace (RFC 1123 label) and a name (RFC 1123 subdomain) joined by
    one slash.
    """
    namespace, slash, name = text.partition("/")
    if not slash or not is_namespace(namespace) or not is_object_name(name):
        shown = text if len(text) <= 300 else text[:300] + "…"
        raise ValueError(
            f"a ledger is named <namespace>/<name> in lowercase letters, digits, '-' "
            f"and '.' (for example default/guestbook); got {shown!r}"
        )
    return namespace, name


def is_rfc3339(text: str) -> bool:
    """True when ``text`` is an RFC 3339 date-time with a UTC offset, e.g.
    ``2026-11-25T11:26:32Z`` (the form of Kubernetes ``creationTimestamp``)."""
    if _RFC3339.fullmatch(text) is None:
        return False
    # fromisoformat rejects impossible dates (month 13, Feb 30) that the pattern admits;
    # it accepts at most 6 fraction digits, so longer fractions are trimmed first.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
    try:
        datetime.fromisoformat(head + dot + rest if dot else text)
    except ValueError:
        return False
    return True


def rfc3339_utc(moment: datetime | None = None) -> str:
    """Return ``moment`` (default: now) as RFC 3339 in UTC with microseconds,
    e.g. ``2026-11-25T11:26:32.123456Z``. A naive ``moment`` is taken as UTC."""
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
