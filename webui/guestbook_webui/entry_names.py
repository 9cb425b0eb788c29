"""Entry names taken from a URL, checked before they go anywhere (decision 0122).

Starlette hands path parameters over percent-decoded, so ``%3Fwatch=1`` arrives
as ``?watch=1``; put into a Kubernetes API path it would become a query and
open a watch on the whole collection. Only a valid Kubernetes object name
(an RFC 1123 subdomain) goes on; anything else is a 404 problem: no entry can
have that name.
"""

from __future__ import annotations

from guestbook_ledger.format.names import is_object_name

from guestbook_webui.problems import INVALID_ENTRY_NAME, Problem


def checked_entry_name(name: str) -> str:
    """``name`` unchanged when it is a Kubernetes object name; else raises Problem 404."""
    if is_object_name(name):
        return name
    shown = name.encode("unicode_escape").decode("ascii")[:80]
    raise Problem(
        404,
        INVALID_ENTRY_NAME,
        "No such entry",
        f"{shown!r} cannot name a guestbook entry: names are lowercase letters, digits, "
        "'-' and '.', at most 253 characters (e.g. entry-x7k2p); check the link.",
    )
