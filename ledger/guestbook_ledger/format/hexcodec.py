"""Hex at the edges: parse hashes and proofs typed by people, format hashes for them.

Inside the package hashes are 32-byte ``bytes``; lowercase hex appears only in
resources, JSON and command lines.
"""

from __future__ import annotations

import string

from guestbook_ledger.format.errors import HashFormatError
from guestbook_ledger.format.hashing import HASH_SIZE
from guestbook_ledger.format.limits import MAX_PROOF_LENGTH

_HEX_DIGITS = frozenset(string.hexdigits)
_HASH_HEX_LENGTH = 2 * HASH_SIZE
# A full proof is MAX_PROOF_LENGTH hashes plus commas; anything longer is rejected
# before it is split, so an enormous argument costs nothing.
MAX_PROOF_TEXT_LENGTH = MAX_PROOF_LENGTH * (_HASH_HEX_LENGTH + 1)


def format_hash(value: bytes) -> str:
    """Return ``value`` as lowercase hex."""
    return value.hex()


def parse_hash(text: str, what: str = "root") -> bytes:
    """Parse a SHA-256 hash written as 64 hex digits (either case, surrounding
    whitespace ignored).

    ``what`` names the value in error messages ("root", "leaf hash", ...).
    Raises :class:`HashFormatError` when the text is not exactly 64 hex digits.
    """
    stripped = text.strip()
    if len(stripped) > 4 * _HASH_HEX_LENGTH:
        raise HashFormatError(
            f"{what} must be {_HASH_HEX_LENGTH} hex digits (a SHA-256 hash); "
            f"got {len(stripped)} characters"
        )
    bad = next((ch for ch in stripped if ch not in _HEX_DIGITS), None)
    if bad is not None:
        raise HashFormatError(
            f"{what} must be {_HASH_HEX_LENGTH} hex digits (a SHA-256 hash); "
            f"{stripped!r} contains the non-hex character {bad!r}"
        )
    if len(stripped) != _HASH_HEX_LENGTH:
        parity = " (an odd number)" if len(stripped) % 2 else ""
        raise HashFormatError(
            f"{what} must be {_HASH_HEX_LENGTH} hex digits (a SHA-256 hash); "
            f"got {len(stripped)}{parity}"
        )
    return bytes.fromhex(stripped)


def parse_proof(text: str) -> list[bytes]:
    """Parse a proof written as comma-separated hex hashes; the empty string (or
    only whitespace) is the empty proof.

    Raises :class:`HashFormatError` for a malformed element, an empty element
    (as in ``"h1,,h2"`` or a trailing comma), or more than
    ``MAX_PROOF_LENGTH`` elements.
    """
    if len(text) > MAX_PROOF_TEXT_LENGTH:
        raise HashFormatError(
            f"a proof has at most {MAX_PROOF_LENGTH} hashes "
            f"({MAX_PROOF_TEXT_LENGTH} characters); got {len(text)} characters"
        )
    if not text.strip():
        return []
    parts = text.split(",")
    if len(parts) > MAX_PROOF_LENGTH:
        raise HashFormatError(f"a proof has at most {MAX_PROOF_LENGTH} hashes; got {len(parts)}")
    proof = []
    for position, part in enumerate(parts):
        if not part.strip():
            raise HashFormatError(
                f"proof element {position} is empty; separate hashes with single commas"
            )
        proof.append(parse_hash(part, what=f"proof element {position}"))
    return proof


def format_proof(proof: list[bytes]) -> str:
    """Return ``proof`` as comma-separated lowercase hex (the form ``parse_proof`` reads)."""
    return ",".join(element.hex() for element in proof)
