"""A guestbook signature as submitted, checked before anything is created (pure).

The rules are the ledger's (format v1): the author at most 64 characters, the
message 1 to 2000, both counted after Unicode NFC normalisation, valid Unicode
without NUL characters (PostgreSQL text cannot hold them). A message of only
white space or other invisible characters (format and control characters,
separators, blank fillers) is refused too: it is a slip or an attempt to sign
nothing; an author of only invisible characters likewise (leave it empty
instead; decision 0127). What passes is normalised to NFC, so the resource
shows exactly the text the ledger records.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from guestbook_ledger.format.limits import MAX_AUTHOR_LENGTH, MAX_MESSAGE_LENGTH

INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp"})
"""Control, format, unassigned, private-use and surrogate characters and separators."""
BLANK_CHARACTERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
)
"""Letters and marks that draw nothing (Hangul fillers, the Braille blank, the
combining grapheme joiner, Mongolian and Khmer invisibles)."""


def is_invisible(text: str) -> bool:
    """True when no character of ``text`` draws anything (empty text included)."""
    return all(
        char in BLANK_CHARACTERS
        or unicodedata.category(char) in INVISIBLE_CATEGORIES
        or 0xFE00 <= ord(char) <= 0xFE0F  # variation selectors
        or 0xE0100 <= ord(char) <= 0xE01EF
        for char in text
    )


@dataclass(frozen=True)
class FieldError:
    """One problem with one field; ``pointer`` is its JSON Pointer (RFC 6901)."""

    field: str
    detail: str

    @property
    def pointer(self) -> str:
        return f"#/{self.field}"


@dataclass(frozen=True)
class Submission:
    author: str
    message: str


class InvalidSubmission(ValueError):
    """The submission breaks one or more rules; ``errors`` lists them per field."""

    def __init__(self, errors: list[FieldError], *, author: str = "", message: str = "") -> None:
        self.errors = errors
        self.author = author
        self.message = message
        super().__init__(" ".join(error.detail for error in errors))


def _text(value: object, field: str, errors: list[FieldError]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(field, f"The {field} must be text."))
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append(
            FieldError(field, f"The {field} contains invalid Unicode; send valid UTF-8 text.")
        )
        return ""
    if "\x00" in value:
        errors.append(FieldError(field, f"The {field} contains a NUL character; remove it."))
        return ""
    return unicodedata.normalize("NFC", value)


def parse_submission(fields: Mapping[str, object]) -> Submission:
    """Check ``fields`` (``author``, ``message``; others are ignored) and return the
    normalised submission.

    Raises InvalidSubmission listing every problem found.
    """
    errors: list[FieldError] = []
    author = _text(fields.get("author"), "author", errors)
    message = _text(fields.get("message"), "message", errors)
    if author and is_invisible(author) and not any(e.field == "author" for e in errors):
        errors.append(
            FieldError(
                "author",
                "The name has only invisible characters; write a name people can read, "
                "or leave it empty to sign anonymously.",
            )
        )
    if len(author) > MAX_AUTHOR_LENGTH:
        errors.append(
            FieldError(
                "author",
                f"The name is {len(author)} characters long; "
                f"shorten it to at most {MAX_AUTHOR_LENGTH}.",
            )
        )
    if not any(field.field == "message" for field in errors):
        if not message.strip():
            errors.append(FieldError("message", "Write a message before signing the guestbook."))
        elif is_invisible(message):
            errors.append(
                FieldError(
                    "message",
                    "The message has only invisible characters (such as zero-width spaces); "
                    "write something people can read.",
                )
            )
        elif len(message) > MAX_MESSAGE_LENGTH:
            errors.append(
                FieldError(
                    "message",
                    f"The message is {len(message)} characters long; "
                    f"shorten it to at most {MAX_MESSAGE_LENGTH}.",
                )
            )
    if errors:
        raise InvalidSubmission(
            errors,
            author=shown_text(fields.get("author")),
            message=shown_text(fields.get("message")),
        )
    return Submission(author=author, message=message)


def shown_text(value: object) -> str:
    """``value`` as it can be shown back in the form (lone surrogates replaced)."""
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")
