"""The canonical entry record: exact bytes, NFC, key order, escaping, and clear
errors for input that cannot become a record."""

from __future__ import annotations

import json
import unicodedata

import pytest
from guestbook_ledger.format import (
    HashFormatError,
    RecordError,
    entry_record,
    format_proof,
    is_rfc3339,
    leaf_hash,
    ledger_name,
    parse_hash,
    parse_ledger_name,
    parse_proof,
    rfc3339_utc,
)

FIELDS = {
    "ledger": "default/guestbook",
    "entry": "hello-1",
    "uid": "0b6a4c1e-3f7d-4c59-9d8e-2f1a7b6c5d4e",
    "author": "Ada",
    "message": "Hello, world!",
    "submitted_at": "2026-11-25T11:26:32Z",
}


def record(**changes: str) -> bytes:
    return entry_record(**{**FIELDS, **changes})


def test_record_is_canonical_json_with_sorted_keys_and_no_whitespace() -> None:
    assert record() == (
        b'{"author":"Ada","entry":"hello-1","ledger":"default/guestbook",'
        b'"message":"Hello, world!","submittedAt":"2026-11-25T11:26:32Z",'
        b'"uid":"0b6a4c1e-3f7d-4c59-9d8e-2f1a7b6c5d4e","v":1}'
    )
    assert leaf_hash(record()).hex() == leaf_hash(record()).hex()  # deterministic
    assert len(leaf_hash(record())) == 32


def test_text_is_escaped_the_rfc_8785_way() -> None:
    text = record(message='quote " backslash \\ newline \n tab \t bell \x07 é 😀 </script>')
    assert (
        b'"message":"quote \\" backslash \\\\ newline \\n tab \\t bell \\u0007 '
        + "é 😀 </script>".encode()
        + b'"'
    ) in text
    assert json.loads(text)["message"].endswith("</script>")


def test_author_and_message_are_nfc_normalised() -> None:
    decomposed = "Zoe\u0301"  # e + combining acute
    composed = unicodedata.normalize("NFC", decomposed)
    assert composed != decomposed
    assert record(author=decomposed, message=decomposed) == record(
        author=composed, message=composed
    )
    assert json.loads(record(message=decomposed))["message"] == composed


def test_lengths_are_counted_after_nfc() -> None:
    # 2000 composed characters, written as 4000 code points before NFC, fit.
    record(message="e\u0301" * 2000, author="e\u0301" * 64)
    with pytest.raises(RecordError, match="at most 2000 characters; got 2001"):
        record(message="x" * 2001)
    with pytest.raises(RecordError, match="author must be at most 64 characters; got 65"):
        record(author="x" * 65)
    record(author="")  # an anonymous entry is fine


def test_empty_message_is_rejected() -> None:
    with pytest.raises(RecordError, match="message must not be empty"):
        record(message="")


@pytest.mark.parametrize("field", ["author", "message", "entry", "uid"])
def test_lone_surrogates_are_rejected(field: str) -> None:
    expected = r"invalid Unicode \(a lone surrogate U\+D800 at position 2\)"
    with pytest.raises(RecordError, match=expected):
        record(**{field: "ab\ud800"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ledger": "guestbook"}, "<namespace>/<name>"),
        ({"ledger": "Default/guestbook"}, "<namespace>/<name>"),
        ({"ledger": "default/guest/book"}, "<namespace>/<name>"),
        ({"ledger": "/guestbook"}, "<namespace>/<name>"),
        ({"entry": "Hello World"}, "entry name must be a Kubernetes object name"),
        ({"uid": ""}, "uid must be 1 to 128 characters"),
        ({"submitted_at": "yesterday"}, "submittedAt must be an RFC 3339 timestamp"),
        ({"submitted_at": "2026-13-01T00:00:00Z"}, "submittedAt must be an RFC 3339 timestamp"),
    ],
)
def test_malformed_names_and_timestamps_are_rejected(changes: dict[str, str], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        record(**changes)


def test_record_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        record(message="")


def test_ledger_names_round_trip() -> None:
    assert ledger_name("team-a", "guest.book") == "team-a/guest.book"
    assert parse_ledger_name("team-a/guest.book") == ("team-a", "guest.book")
    with pytest.raises(ValueError, match="for example default/guestbook"):
        parse_ledger_name("team_a/guestbook")


def test_timestamps() -> None:
    assert is_rfc3339("2026-11-25T11:26:32Z")
    assert is_rfc3339("2026-11-25T11:26:32.123456789+01:00")
    assert not is_rfc3339("2026-11-25 11:26:32")
    assert not is_rfc3339("2026-02-30T00:00:00Z")
    now = rfc3339_utc()
    assert now.endswith("Z") and is_rfc3339(now)


def test_hashes_parse_from_hex_with_clear_errors() -> None:
    value = bytes(range(32))
    assert parse_hash(value.hex()) == value
    assert parse_hash(value.hex().upper() + "\n") == value
    with pytest.raises(HashFormatError, match=r"root must be 64 hex .* got 63 \(an odd number\)"):
        parse_hash("a" * 63)
    with pytest.raises(HashFormatError, match=r"got 62$"):
        parse_hash("a" * 62)
    with pytest.raises(HashFormatError, match=r"leaf hash .* non-hex character 'g'"):
        parse_hash("g" * 64, what="leaf hash")
    with pytest.raises(HashFormatError, match="got 10000 characters"):
        parse_hash("a" * 10000)


def test_proofs_parse_from_comma_separated_hex() -> None:
    a, b = bytes(32), bytes(range(32))
    assert parse_proof("") == []
    assert parse_proof("  ") == []
    assert parse_proof(format_proof([a, b])) == [a, b]
    with pytest.raises(HashFormatError, match="proof element 1 is empty"):
        parse_proof(f"{a.hex()},,{b.hex()}")
    with pytest.raises(HashFormatError, match="proof element 1 must be 64 hex digits"):
        parse_proof(f"{a.hex()},abc")
    with pytest.raises(HashFormatError, match="at most 64 hashes; got 65"):
        parse_proof(",".join(["ab"] * 65))
    with pytest.raises(HashFormatError, match="at most 64 hashes"):
        parse_proof(",".join([a.hex()] * 65))
    with pytest.raises(HashFormatError, match="at most 64 hashes"):
        parse_proof("a" * 100_000)
