"""C2SP signed notes (``c2sp.org/signed-note``) with Ed25519 keys.

A note is a text ending in a newline, a blank line, then signature lines
``— <key name> <base64(key ID ‖ signature)>``. The key ID of an Ed25519 key is
the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key); a verifier
key is written ``<name>+<hex key ID>+<base64(0x01 ‖ public key)>``, as Go's
``golang.org/x/mod/sumdb/note`` reads it.

Verification follows the spec: signatures by unknown keys are ignored, a
signature by a known key that fails rejects the whole note, and a note with no
verified signature by a known key is rejected.
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

from guestbook_ledger.format.errors import KeyFormatError, NoteFormatError, SignatureError

ED25519_TYPE = 0x01
"""The signature type byte of Ed25519 note signatures."""
KEY_ID_SIZE = 4
MAX_NOTE_SIZE = 1024 * 1024
"""Largest note read (a checkpoint with a hundred cosignatures is ~15 kB)."""
MAX_SIGNATURES = 100
"""Most signature lines read; the spec asks verifiers to accept at least 16."""
_DASH = "— "


def check_key_name(name: str) -> None:
    """Raise KeyFormatError unless ``name`` is a valid note key name: non-empty,
    no Unicode spaces, no ``+``, no control characters."""
    if not name:
        raise KeyFormatError("a note key name must not be empty")
    if any(ch.isspace() or ch == "+" or ord(ch) < 0x20 for ch in name):
        raise KeyFormatError(
            f"a note key name must contain no spaces, '+' or control characters; got {name[:100]!r}"
        )


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte note key ID of the Ed25519 key ``public_key`` named ``name``."""
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_TYPE]) + raw).digest()[
        :KEY_ID_SIZE
    ]


@dataclass(frozen=True)
class NoteVerifier:
    """A named Ed25519 key that verifies note signatures."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def for_key(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        """The verifier of ``public_key`` under ``name``; raises KeyFormatError for a bad name."""
        check_key_name(name)
        return cls(name=name, key_id=key_id(name, public_key), public_key=public_key)

    def to_text(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64(0x01 ‖ key)>``."""
        encoded = base64.b64encode(bytes([ED25519_TYPE]) + self.public_key.public_bytes_raw())
        return f"{self.name}+{self.key_id.hex()}+{encoded.decode('ascii')}"

    @classmethod
    def from_text(cls, text: str) -> NoteVerifier:
        """Read a verifier key string (see `to_text`).

        Raises KeyFormatError naming what is wrong: the shape, the key type
        (only Ed25519), the key length, or a key ID that does not match the
        name and key.
        """
        text = text.strip()
        # Names hold no '+', base64 may: the first two '+' are the separators.
        parts = text.split("+", 2)
        if len(parts) != 3:
            raise KeyFormatError(
                f"a note verifier key is <name>+<8 hex digits>+<base64 key>; got {text[:100]!r}"
            )
        name, hex_id, rest = parts
        check_key_name(name)
        try:
            wanted_id = bytes.fromhex(hex_id)
            if len(hex_id) != 2 * KEY_ID_SIZE:
                raise ValueError
            key = base64.b64decode(rest, validate=True)
        except (ValueError, binascii.Error):
            raise KeyFormatError(
                f"a note verifier key is <name>+<8 hex digits>+<base64 key>; got {text[:100]!r}"
            ) from None
        if not key or key[0] != ED25519_TYPE:
            raise KeyFormatError(
                f"the verifier key of {name!r} is of type {key[:1].hex() or 'none'}; "
                "only Ed25519 (01) is supported"
            )
        if len(key) != 1 + 32:
            raise KeyFormatError(
                f"the Ed25519 verifier key of {name!r} has {len(key) - 1} key bytes, not 32"
            )
        verifier = cls.for_key(name, Ed25519PublicKey.from_public_bytes(key[1:]))
        if verifier.key_id != wanted_id:
            raise KeyFormatError(
                f"the verifier key of {name!r} names key ID {hex_id}, but its name and key "
                f"give {verifier.key_id.hex()}"
            )
        return verifier


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID and the signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def to_line(self) -> str:
        """The line ``— <name> <base64(key ID ‖ signature)>`` with its newline."""
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH}{self.name} {encoded}\n"


@dataclass(frozen=True)
class Note:
    """A note's text (with its final newline) and its signatures, in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_text(self) -> str:
        """The signed note as published: text, blank line, signature lines."""
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> NoteSignature:
    """The Ed25519 signature of note ``text`` by the key named ``name``.

    Requires ``text`` to be a valid note text (see `check_note_text`); raises
    NoteFormatError otherwise and KeyFormatError for a bad name.
    """
    check_note_text(text)
    check_key_name(name)
    return NoteSignature(
        name=name,
        key_id=key_id(name, private_key.public_key()),
        signature=private_key.sign(text.encode("utf-8")),
    )


def check_note_text(text: str) -> None:
    """Raise NoteFormatError unless ``text`` ends in a newline and holds no control
    characters other than newlines."""
    if not text.endswith("\n"):
        raise NoteFormatError("a note text must end with a newline")
    bad = next((ch for ch in text if ord(ch) < 0x20 and ch != "\n"), None)
    if bad is not None:
        raise NoteFormatError(f"a note must not contain control characters; found U+{ord(bad):04X}")


def parse_note(data: str | bytes) -> Note:
    """Split a signed note into its text and signature lines (nothing verified).

    Raises NoteFormatError when it is too large, not UTF-8, has control
    characters, has no blank line before the signatures, has more than
    MAX_SIGNATURES signatures, or a signature line is malformed.
    """
    if len(data) > MAX_NOTE_SIZE:
        raise NoteFormatError(f"a note is at most {MAX_NOTE_SIZE} bytes; got {len(data)}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteFormatError("a note must be UTF-8 text") from None
    check_note_text(data)
    # The text ends at the last blank line: everything after it is signatures.
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteFormatError("a signed note needs a blank line between its text and signatures")
    text, lines = data[: split + 1], data[split + 2 :].splitlines()
    if not lines:
        raise NoteFormatError("the note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"the note has {len(lines)} signatures; at most {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(_DASH):
            raise NoteFormatError(
                f"signature line {number} does not start with an em dash and a space: {line[:80]!r}"
            )
        name, space, encoded = line[len(_DASH) :].partition(" ")
        try:
            check_key_name(name)
            raw = base64.b64decode(encoded, validate=True) if space else b""
        except (KeyFormatError, binascii.Error, ValueError):
            raw = b""
        if len(raw) <= KEY_ID_SIZE:
            raise NoteFormatError(
                f"signature line {number} is not '— <name> <base64 signature>': {line[:80]!r}"
            )
        signatures.append(NoteSignature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return Note(text=text, signatures=tuple(signatures))


def open_note(data: str | bytes, verifiers: list[NoteVerifier]) -> tuple[Note, list[NoteVerifier]]:
    """Parse a signed note and verify it with the known ``verifiers``; return the
    note and the verifiers whose signatures verified.

    Signatures by unknown keys (name and key ID not both matching) are ignored.
    Raises NoteFormatError for a malformed note, SignatureError when a known
    key's signature fails or no known key signed the note.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    message = note.text.encode("utf-8")
    verified: list[NoteVerifier] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        try:
            verifier.public_key.verify(sig.signature, message)
        except InvalidSignature:
            raise SignatureError(
                f"the signature by {sig.name} (key ID {sig.key_id.hex()}) does not match the "
                "note: the note or its signature was altered"
            ) from None
        if verifier not in verified:
            verified.append(verifier)
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in verifiers) or "none"
        raise SignatureError(f"the note has no signature by a known key (known: {names})")
    return note, verified
