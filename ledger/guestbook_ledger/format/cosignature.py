"""Witness cosignatures, C2SP ``tlog-cosignature`` (``cosignature/v1``, Ed25519).

A cosignature is a note signature line on a checkpoint by a witness key. Its
key ID is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]; its signature bytes are
an 8-byte big-endian POSIX timestamp followed by the Ed25519 signature of::

    cosignature/v1
    time <timestamp>
    <the checkpoint text>

A witness verifier key is ``<name>+<hex key ID>+<base64(0x04 ‖ public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from guestbook_ledger.format.errors import KeyFormatError, SignatureError
from guestbook_ledger.format.note import KEY_ID_SIZE, NoteSignature, check_key_name, parse_note

COSIGNATURE_TYPE = 0x04
_HEADER = "cosignature/v1\n"
_MAX_TIMESTAMP = 2**63 - 1


def cosigner_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 cosigner key named ``name``."""
    raw = public_key.public_bytes_raw()
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_TYPE]) + raw).digest()
    return digest[:KEY_ID_SIZE]


def cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signature covers."""
    return f"{_HEADER}time {timestamp}\n{checkpoint_text}".encode()


@dataclass(frozen=True)
class Cosigner:
    """A witness's name and Ed25519 key, as a verifier of its cosignatures."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey) -> Cosigner:
        check_key_name(name)
        return cls(name, cosigner_key_id(name, public_key), public_key)

    def to_text(self) -> str:
        """The witness verifier key ``<name>+<hex key ID>+<base64(0x04 ‖ key)>``."""
        raw = bytes([COSIGNATURE_TYPE]) + self.public_key.public_bytes_raw()
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode('ascii')}"

    @classmethod
    def from_text(cls, text: str) -> Cosigner:
        """Read a witness verifier key. Raises KeyFormatError naming what is wrong."""
        parts = text.strip().split("+", 2)
        shape = f"a witness verifier key is <name>+<8 hex digits>+<base64 key>; got {text[:100]!r}"
        if len(parts) != 3:
            raise KeyFormatError(shape)
        name, hex_id, encoded = parts
        check_key_name(name)
        try:
            wanted = bytes.fromhex(hex_id)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise KeyFormatError(shape) from None
        if len(wanted) != KEY_ID_SIZE or len(raw) != 33 or raw[0] != COSIGNATURE_TYPE:
            raise KeyFormatError(
                f"the witness key of {name!r} is not an Ed25519 cosignature/v1 key (type 04)"
            )
        cosigner = cls.for_key(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
        if cosigner.key_id != wanted:
            raise KeyFormatError(
                f"the witness key of {name!r} names key ID {hex_id}, but its name and key give "
                f"{cosigner.key_id.hex()}"
            )
        return cosigner


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: who, when (POSIX seconds), and its note line."""

    cosigner: Cosigner
    timestamp: int
    line: str


def cosign(
    private_key: Ed25519PrivateKey, name: str, checkpoint_text: str, timestamp: int
) -> NoteSignature:
    """A ``cosignature/v1`` of ``checkpoint_text`` at ``timestamp`` (a witness's work)."""
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"a cosignature timestamp is 0..2^63-1; got {timestamp}")
    signature = private_key.sign(cosigned_message(checkpoint_text, timestamp))
    return NoteSignature(
        name=name,
        key_id=cosigner_key_id(name, private_key.public_key()),
        signature=timestamp.to_bytes(8, "big") + signature,
    )


def verify_cosignatures(note: str | bytes, cosigners: list[Cosigner]) -> list[Cosignature]:
    """The cosignatures in ``note`` by known ``cosigners`` that verify over its text.

    Lines by unknown keys are ignored. Raises NoteFormatError for a malformed
    note and SignatureError when a line by a known cosigner does not verify
    (a forged or altered cosignature).
    """
    parsed = parse_note(note)
    known = {(c.name, c.key_id): c for c in cosigners}
    found = []
    for sig in parsed.signatures:
        cosigner = known.get((sig.name, sig.key_id))
        if cosigner is None:
            continue
        if len(sig.signature) != 8 + 64:
            raise SignatureError(f"the cosignature by {sig.name} is not 72 bytes")
        timestamp = int.from_bytes(sig.signature[:8], "big")
        try:
            cosigner.public_key.verify(sig.signature[8:], cosigned_message(parsed.text, timestamp))
        except InvalidSignature:
            raise SignatureError(
                f"the cosignature by witness {sig.name} does not verify over this checkpoint"
            ) from None
        found.append(Cosignature(cosigner, timestamp, sig.to_line()))
    return found
