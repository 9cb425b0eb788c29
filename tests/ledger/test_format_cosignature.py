"""cosignature/v1 (C2SP tlog-cosignature): key IDs of type 0x04, the signed message,
witness verifier keys, and verification that ignores strangers and rejects forgeries."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import KeyFormatError, SignatureError
from guestbook_ledger.format.checkpoint import sign_checkpoint
from guestbook_ledger.format.cosignature import (
    Cosigner,
    cosign,
    cosigned_message,
    verify_cosignatures,
)

LOG = Ed25519PrivateKey.generate()
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
NAME = "witness.example/w1"
HEAD = sign_checkpoint(
    LOG,
    ledger="default/guestbook",
    origin="example.test/log",
    tree_size=3,
    root_hash=hashlib.sha256(b"r").digest(),
    timestamp="2026-11-25T12:00:00Z",
)


def test_the_signed_message_and_key_id_follow_the_spec() -> None:
    assert cosigned_message(HEAD.text(), 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + HEAD.text().encode()
    )
    line = cosign(WITNESS, NAME, HEAD.text(), 1679315147)
    raw_key = WITNESS.public_key().public_bytes_raw()
    assert line.key_id == hashlib.sha256(NAME.encode() + b"\n\x04" + raw_key).digest()[:4]
    assert line.signature[:8] == (1679315147).to_bytes(8, "big")
    WITNESS.public_key().verify(line.signature[8:], cosigned_message(HEAD.text(), 1679315147))
    vkey = Cosigner.for_key(NAME, WITNESS.public_key()).to_text()
    encoded = base64.b64encode(b"\x04" + raw_key).decode()
    assert vkey == f"{NAME}+{line.key_id.hex()}+{encoded}"
    assert Cosigner.from_text(vkey).key_id == line.key_id


def test_cosignatures_verify_strangers_are_ignored_and_forgeries_rejected() -> None:
    cosigner = Cosigner.for_key(NAME, WITNESS.public_key())
    good = cosign(WITNESS, NAME, HEAD.text(), 1700000000).to_line()
    stranger = cosign(Ed25519PrivateKey.generate(), "other.example/w", HEAD.text(), 1).to_line()
    found = verify_cosignatures(HEAD.note() + stranger + good, [cosigner])
    assert [(c.cosigner.name, c.timestamp) for c in found] == [(NAME, 1700000000)]
    assert verify_cosignatures(HEAD.note() + stranger, [cosigner]) == []
    # A cosignature of another checkpoint, moved onto this one.
    other = cosign(WITNESS, NAME, HEAD.text().replace("\n3\n", "\n4\n"), 1700000000).to_line()
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignatures(HEAD.note() + other, [cosigner])


def test_malformed_witness_keys_are_refused() -> None:
    note_style = Cosigner.for_key(NAME, WITNESS.public_key()).to_text()
    raw = WITNESS.public_key().public_bytes_raw()
    wrong_type = note_style.rsplit("+", 1)[0].rsplit("+", 1)[0]
    key_id = note_style.split("+")[1]
    with pytest.raises(KeyFormatError, match="type 04"):
        ed25519_note_key = base64.b64encode(b"\x01" + raw).decode()
        Cosigner.from_text(f"{wrong_type}+{key_id}+{ed25519_note_key}")
    with pytest.raises(KeyFormatError, match="<name>"):
        Cosigner.from_text("nope")
