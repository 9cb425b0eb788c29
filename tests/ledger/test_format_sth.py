"""Signed tree heads: canonical payload, signing, verification, tampering, and
clear errors for malformed documents and keys."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1
from cryptography.hazmat.primitives.asymmetric.ec import generate_private_key as ec_key
from guestbook_ledger.format import (
    EMPTY_ROOT,
    KeyFormatError,
    SignatureError,
    SignedTreeHead,
    TreeHeadFormatError,
    generate_private_key,
    key_id,
    load_private_key_pem,
    load_public_key_pem,
    private_key_to_pem,
    public_key_to_pem,
    sign_tree_head,
    tree_head_payload,
    verify_tree_head,
)

ROOT = hashlib.sha256(b"some root").digest()
HEAD: dict[str, Any] = {"ledger": "default/guestbook", "tree_size": 42, "root_hash": ROOT}
TIMESTAMP = "2026-11-25T11:26:32.000001Z"


def test_payload_is_canonical_json() -> None:
    payload = tree_head_payload(**HEAD, timestamp=TIMESTAMP)
    assert payload == (
        b'{"ledger":"default/guestbook","rootHash":"' + ROOT.hex().encode() + b'",'
        b'"timestamp":"2026-11-25T11:26:32.000001Z","treeSize":42,"v":1}'
    )


def test_signed_tree_head_verifies_and_round_trips_through_json() -> None:
    key = generate_private_key()
    head = sign_tree_head(key, **HEAD, timestamp=TIMESTAMP)
    assert (
        head.key_id
        == hashlib.sha256(
            key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        ).hexdigest()
    )
    verify_tree_head(head, key.public_key())
    document = json.loads(head.to_json())
    assert document == {
        "v": 1,
        "ledger": "default/guestbook",
        "treeSize": 42,
        "rootHash": ROOT.hex(),
        "timestamp": TIMESTAMP,
        "keyId": key_id(key.public_key()),
        "signature": base64.b64encode(head.signature).decode(),
    }
    again = SignedTreeHead.from_json(head.to_json())
    assert again == head
    verify_tree_head(again, key.public_key())
    assert SignedTreeHead.from_dict(head.to_dict()) == head


def test_the_empty_tree_can_be_signed() -> None:
    key = generate_private_key()
    head = sign_tree_head(key, ledger="a/b", tree_size=0, root_hash=EMPTY_ROOT, timestamp=TIMESTAMP)
    verify_tree_head(head, key.public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 43},
        {"root_hash": hashlib.sha256(b"other").digest()},
        {"timestamp": "2026-11-25T11:26:33Z"},
        {"ledger": "default/other"},
    ],
    ids=["size", "root", "timestamp", "ledger"],
)
def test_any_altered_field_breaks_the_signature(change: dict[str, object]) -> None:
    key = generate_private_key()
    head = sign_tree_head(key, **HEAD, timestamp=TIMESTAMP)
    with pytest.raises(SignatureError, match="the head or its signature was altered"):
        verify_tree_head(dataclasses.replace(head, **change), key.public_key())  # type: ignore[arg-type]


def test_altered_signature_and_other_keys_are_rejected() -> None:
    key, other = generate_private_key(), generate_private_key()
    head = sign_tree_head(key, **HEAD, timestamp=TIMESTAMP)
    flipped = bytes([head.signature[0] ^ 1]) + head.signature[1:]
    with pytest.raises(SignatureError, match="altered"):
        verify_tree_head(dataclasses.replace(head, signature=flipped), key.public_key())
    with pytest.raises(SignatureError, match=f"signed by key {head.key_id}, not by the given key"):
        verify_tree_head(head, other.public_key())
    forged = dataclasses.replace(head, key_id=key_id(other.public_key()))
    with pytest.raises(SignatureError, match="altered"):
        verify_tree_head(forged, other.public_key())


def test_keys_round_trip_through_pem() -> None:
    key = generate_private_key()
    private_pem = private_key_to_pem(key)
    public_pem = public_key_to_pem(key.public_key())
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    head = sign_tree_head(load_private_key_pem(private_pem), **HEAD, timestamp=TIMESTAMP)
    verify_tree_head(head, load_public_key_pem(public_pem))


def test_malformed_keys_are_rejected_clearly() -> None:
    with pytest.raises(KeyFormatError, match="BEGIN PUBLIC KEY"):
        load_public_key_pem(b"not a key")
    with pytest.raises(KeyFormatError, match="BEGIN PRIVATE KEY"):
        load_private_key_pem(b"not a key")
    ec = ec_key(SECP256R1())
    ec_public = ec.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="not Ed25519"):
        load_public_key_pem(ec_public)


def _document(**changes: object) -> str:
    key = generate_private_key()
    document = sign_tree_head(key, **HEAD, timestamp=TIMESTAMP).to_dict()
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not None})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "a tree head is a JSON object; got list"),
        (_document(signature=None), "lacks the field"),
        (_document(extra=1), "unknown field"),
        (_document(v=2), "only version 1 is understood"),
        (_document(rootHash="abc"), "rootHash must be 64 hex digits"),
        (_document(keyId="zz"), "keyId must be 64 hex digits"),
        (_document(signature="!!!"), "signature must be standard base64"),
        (_document(signature=base64.b64encode(b"short").decode()), "must be 64 bytes"),
        (_document(treeSize=-1), "treeSize must be between 0 and"),
        (_document(treeSize=2**53), "treeSize must be between 0 and"),
        (_document(treeSize="42"), "treeSize must be an integer"),
        (_document(treeSize=4.5), "treeSize must be an integer"),
        (_document(timestamp="now"), "timestamp must be RFC 3339"),
        (_document(ledger="guestbook"), "<namespace>/<name>"),
        ("[" * 100_000, "at most 65536 bytes"),
        ('{"treeSize": ' + "9" * 5000 + "}", "not valid JSON"),
    ],
)
def test_malformed_documents_are_rejected_clearly(text: str, message: str) -> None:
    with pytest.raises(TreeHeadFormatError, match=message):
        SignedTreeHead.from_json(text)
