"""The rules a signature must meet before anything is created (pure functions)."""

from __future__ import annotations

import pytest
from guestbook_webui.entry_view import newest_first
from guestbook_webui.submission import InvalidSubmission, parse_submission


def test_a_valid_submission_is_normalised_to_nfc() -> None:
    parsed = parse_submission({"author": "Zoe\u0308", "message": "n\u0303 ok", "extra": 1})
    assert parsed.author == "Zo\u00eb"
    assert parsed.message == "\u00f1 ok"


def test_the_author_is_optional() -> None:
    assert parse_submission({"message": "hi"}).author == ""
    assert parse_submission({"author": None, "message": "hi"}).author == ""


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"message": ""}, "message", "Write a message"),
        ({}, "message", "Write a message"),
        ({"message": " \t\n"}, "message", "Write a message"),
        ({"message": "m" * 2001}, "message", "2001 characters"),
        ({"message": "e\u0301" * 2001}, "message", "2001 characters"),  # NFC: é is one
        ({"author": "a" * 65, "message": "x"}, "author", "at most 64"),
        ({"message": ["not", "text"]}, "message", "must be text"),
        ({"message": "bad \ud800 surrogate"}, "message", "invalid Unicode"),
        ({"author": "nul\x00", "message": "x"}, "author", "NUL"),
    ],
)
def test_invalid_submissions_name_the_field_and_the_fix(
    fields: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(fields)
    [error] = caught.value.errors
    assert error.field == field
    assert error.pointer == f"#/{field}"
    assert words in error.detail


def test_limits_are_counted_after_normalisation() -> None:
    # 2000 decomposed "é" are 4000 code points but 2000 characters once NFC.
    assert len(parse_submission({"message": "e\u0301" * 2000}).message) == 2000
    assert len(parse_submission({"message": "m" * 2000}).message) == 2000
    assert len(parse_submission({"author": "a" * 64, "message": "x"}).author) == 64


def test_what_was_typed_is_kept_for_the_form_even_when_invalid() -> None:
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission({"author": "Ann", "message": "x" * 2001})
    assert caught.value.author == "Ann"
    assert caught.value.message == "x" * 2001


def entry(name: str, created: str, index: int | None = None) -> dict[str, object]:
    status = {} if index is None else {"leafIndex": index}
    return {"metadata": {"name": name, "creationTimestamp": created}, "status": status}


def test_newest_first_breaks_ties_by_ledger_position_then_arrival() -> None:
    entries = [
        entry("a", "2026-11-25T10:00:00Z", 0),
        entry("b", "2026-11-25T10:00:01Z", 1),
        entry("c", "2026-11-25T10:00:01Z", 2),
        entry("d", "2026-11-25T10:00:01Z"),
        entry("e", "2026-11-25T10:00:01Z"),
    ]
    ordered = newest_first(entries, {"d": 2, "e": 1})
    assert [item["metadata"]["name"] for item in ordered] == ["d", "e", "c", "b", "a"]
