"""Checkpoints in signed notes: the exact text, key IDs and verifier keys per C2SP,
verification that ignores unknown keys and rejects altered notes, and clear
errors for malformed input."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import (
    EMPTY_ROOT,
    CheckpointFormatError,
    KeyFormatError,
    NoteFormatError,
    NoteVerifier,
    SignatureError,
    SignedCheckpoint,
    checkpoint_text,
    default_origin,
    open_checkpoint,
    open_note,
    parse_checkpoint_text,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
    verify_head,
)
from guestbook_ledger.format.note import sign_note

# A fixed key, so the expected texts below are exact.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = KEY.public_key().public_bytes_raw()
ORIGIN = "example.test/guestbook"
ROOT = hashlib.sha256(b"some root").digest()


def signed(
    size: int = 13, root: bytes = ROOT, origin: str = ORIGIN, key: Ed25519PrivateKey = KEY
) -> SignedCheckpoint:
    return sign_checkpoint(
        key,
        ledger="default/guestbook",
        origin=origin,
        tree_size=size,
        root_hash=root,
        timestamp="2026-11-25T12:00:00Z",
    )


def test_checkpoint_text_is_origin_size_and_base64_root() -> None:
    assert checkpoint_text(ORIGIN, 13, ROOT) == (
        f"example.test/guestbook\n13\n{base64.b64encode(ROOT).decode()}\n"
    )
    assert checkpoint_text(ORIGIN, 0, EMPTY_ROOT) == (
        "example.test/guestbook\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


def test_the_signed_note_is_text_blank_line_and_one_em_dash_signature_line() -> None:
    head = signed()
    note = head.note()
    text, _, signature_line = note.partition("\n\n")
    assert text + "\n" == head.text()
    assert signature_line.endswith("\n") and signature_line.count("\n") == 1
    dash, name, encoded = signature_line[:-1].split(" ")
    assert dash == "\u2014"
    assert name == ORIGIN
    raw = base64.b64decode(encoded)
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC).digest()[:4]
    assert raw[:4] == key_id == head.note_key_id
    KEY.public_key().verify(raw[4:], head.text().encode())  # the signature covers the text


def test_verifier_key_is_name_hex_key_id_and_base64_type_and_key() -> None:
    vkey = verifier_key(ORIGIN, KEY.public_key())
    key_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + PUBLIC).digest()[:4].hex()
    encoded = base64.b64encode(b"\x01" + PUBLIC).decode()
    assert vkey == f"{ORIGIN}+{key_id}+{encoded}"
    parsed = NoteVerifier.from_text(vkey)
    assert parsed.name == ORIGIN and parsed.key_id.hex() == key_id
    assert parsed.to_text() == vkey


def test_open_checkpoint_returns_what_was_signed() -> None:
    head = signed()
    checkpoint = open_checkpoint(head.note(), NoteVerifier.for_key(ORIGIN, KEY.public_key()))
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash) == (ORIGIN, 13, ROOT)
    verify_checkpoint(head, KEY.public_key())
    verify_head(head, KEY.public_key())


def test_signatures_by_unknown_keys_are_ignored() -> None:
    head = signed()
    other = Ed25519PrivateKey.generate()
    witness = sign_note(head.text(), "witness.example/w1", other).to_line()
    same_name_other_key = sign_note(head.text(), ORIGIN, other).to_line()
    note = head.note() + witness + same_name_other_key
    verifier = NoteVerifier.for_key(ORIGIN, KEY.public_key())
    _, verified = open_note(note, [verifier])
    assert verified == [verifier]
    assert open_checkpoint(note, verifier).tree_size == 13


def test_a_note_signed_only_by_other_keys_is_rejected() -> None:
    head = signed(key=Ed25519PrivateKey.generate())
    with pytest.raises(SignatureError, match="no signature by a known key"):
        open_checkpoint(head.note(), NoteVerifier.for_key(ORIGIN, KEY.public_key()))
    with pytest.raises(SignatureError, match="note key ID"):
        verify_checkpoint(head, KEY.public_key())


def test_an_altered_checkpoint_is_rejected() -> None:
    note = signed().note().replace("\n13\n", "\n14\n")
    with pytest.raises(SignatureError, match="altered"):
        open_checkpoint(note, NoteVerifier.for_key(ORIGIN, KEY.public_key()))


def test_a_checkpoint_of_another_origin_is_rejected_even_if_signed() -> None:
    # Signed by our key, but under a key name that is not its origin.
    text = checkpoint_text("other.example/log", 13, ROOT)
    note = text + "\n" + sign_note(text, ORIGIN, KEY).to_line()
    with pytest.raises(SignatureError, match="another log's checkpoint"):
        open_checkpoint(note, NoteVerifier.for_key(ORIGIN, KEY.public_key()))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("example.test/g\n13\n", "at least three lines"),
        ("example.test/g\n013\n" + base64.b64encode(ROOT).decode() + "\n", "leading"),
        ("example.test/g\n-1\n" + base64.b64encode(ROOT).decode() + "\n", "decimal"),
        ("example.test/g\n1\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "32-byte"),
        ("example.test/g\n1\n" + ROOT.hex() + "\n", "base64"),
        ("bad origin\n1\n" + base64.b64encode(ROOT).decode() + "\n", "spaces"),
        ("\n1\n" + base64.b64encode(ROOT).decode() + "\n", "empty"),
    ],
)
def test_malformed_checkpoint_texts_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(CheckpointFormatError, match=reason):
        parse_checkpoint_text(text)


def test_extension_lines_are_kept() -> None:
    text = checkpoint_text(ORIGIN, 1, ROOT) + "ext one\n"
    assert parse_checkpoint_text(text).extensions == ("ext one",)


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("just text\n", "blank line"),
        ("text\n\n", "no signature lines"),
        ("text\n\n- name AAAAAAAA\n", "em dash"),
        ("text\n\n\u2014 name !!!\n", "base64"),
        ("text\n\n\u2014 name AAAA\n", "base64 signature"),
        ("te\x01xt\n\n\u2014 name AAAAAAAA\n", "control"),
        (b"\xff\n\n", "UTF-8"),
    ],
)
def test_malformed_notes_say_what_is_wrong(note: str | bytes, reason: str) -> None:
    with pytest.raises(NoteFormatError, match=reason):
        open_note(note, [NoteVerifier.for_key(ORIGIN, KEY.public_key())])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no-plus-signs", "<name>"),
        (f"{ORIGIN}+0000+AQ==", "<name>"),
        (f"{ORIGIN}+00000000+" + base64.b64encode(b"\x02" + PUBLIC).decode(), "only Ed25519"),
        (f"{ORIGIN}+00000000+" + base64.b64encode(b"\x01" + PUBLIC[:5]).decode(), "32"),
        (f"{ORIGIN}+00000000+" + base64.b64encode(b"\x01" + PUBLIC).decode(), "key ID"),
    ],
)
def test_malformed_verifier_keys_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(KeyFormatError, match=reason):
        NoteVerifier.from_text(text)


def test_default_origin_is_derived_from_namespace_and_name() -> None:
    assert default_origin("team-a/book") == "ledger.guestbook.io/team-a/book"
    with pytest.raises(ValueError):
        default_origin("no-slash")
