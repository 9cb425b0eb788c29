"""The entry record of ledger format v1: the exact bytes a leaf hash is taken over.

RFC 8785 canonical JSON of ``{"v":1,"ledger":"<namespace>/<ledger>",
"entry":...,"uid":...,"author":...,"message":...,"submittedAt":...}`` with author
and message in Unicode NFC, so the same entry hashes the same everywhere.
"""

from __future__ import annotations

import unicodedata

import rfc8785

from guestbook_ledger.format.errors import RecordError
from guestbook_ledger.format.limits import MAX_AUTHOR_LENGTH, MAX_MESSAGE_LENGTH
from guestbook_ledger.format.names import is_object_name, is_rfc3339, parse_ledger_name

RECORD_VERSION = 1
_MAX_UID_LENGTH = 128


def _valid_text(value: str, what: str) -> str:
    """Return ``value`` if it encodes as UTF-8; raise RecordError naming the
    first lone surrogate otherwise."""
    if not isinstance(value, str):
        raise RecordError(f"{what} must be text; got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RecordError(
            f"{what} contains invalid Unicode (a lone surrogate "
            f"U+{ord(value[exc.start]):04X} at position {exc.start}); send valid UTF-8 text"
        ) from None
    return value


def entry_record(
    *, ledger: str, entry: str, uid: str, author: str, message: str, submitted_at: str
) -> bytes:
    """Return the canonical record bytes of one guestbook entry.

    ``ledger`` is ``<namespace>/<name>``; ``entry`` the entry's object name;
    ``uid`` its ``metadata.uid``; ``submitted_at`` its ``creationTimestamp``
    (RFC 3339). ``author`` and ``message`` are NFC-normalised first, and their
    lengths are counted in code points after normalisation.

    Raises :class:`RecordError` (a ``ValueError``) with one sentence when any
    field contains invalid Unicode (a lone surrogate), the author is longer than
    64 characters, the message is empty or longer than 2000 characters, or a
    name, uid or timestamp is malformed.
    """
    for value, what in (
        (ledger, "ledger"),
        (entry, "entry name"),
        (uid, "uid"),
        (author, "author"),
        (message, "message"),
        (submitted_at, "submittedAt"),
    ):
        _valid_text(value, what)
    try:
        parse_ledger_name(ledger)
    except ValueError as exc:
        raise RecordError(str(exc)) from None
    if not is_object_name(entry):
        raise RecordError(
            f"entry name must be a Kubernetes object name (lowercase letters, digits, "
            f"'-' and '.', at most 253 characters); got {entry[:300]!r}"
        )
    if not uid or len(uid) > _MAX_UID_LENGTH:
        raise RecordError(f"uid must be 1 to {_MAX_UID_LENGTH} characters; got {len(uid)}")
    if not is_rfc3339(submitted_at):
        raise RecordError(
            f"submittedAt must be an RFC 3339 timestamp such as 2026-11-25T11:26:32Z; "
            f"got {submitted_at[:100]!r}"
        )
    author = unicodedata.normalize("NFC", author)
    message = unicodedata.normalize("NFC", message)
    if len(author) > MAX_AUTHOR_LENGTH:
        raise RecordError(
            f"author must be at most {MAX_AUTHOR_LENGTH} characters; got {len(author)}"
        )
    if not message:
        raise RecordError("message must not be empty; write at least one character")
    if len(message) > MAX_MESSAGE_LENGTH:
        raise RecordError(
            f"message must be at most {MAX_MESSAGE_LENGTH} characters; got {len(message)}"
        )
    record: bytes = rfc8785.dumps(
        {
            "v": RECORD_VERSION,
            "ledger": ledger,
            "entry": entry,
            "uid": uid,
            "author": author,
            "message": message,
            "submittedAt": submitted_at,
        }
    )
    return record
