"""The body of a tlog-witness ``add-checkpoint`` request, parsed (nothing verified).

``old <size>\\n``, zero to 63 lines of one base64 hash each, an empty line, then
the signed checkpoint note.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from guestbook_ledger.format.hashing import HASH_SIZE
from guestbook_ledger.format.limits import MAX_TREE_SIZE

MAX_PROOF_LINES = 63
"""tlog-witness: a client MUST NOT send more than 63 consistency proof lines."""
MAX_BODY_BYTES = 128 * 1024
"""Largest request read: 63 proof lines and a checkpoint with a hundred signatures
take well under 20 kB."""


class RequestFormatError(ValueError):
    """The body is not an add-checkpoint request (answered 400); says what is wrong."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Split ``body`` into the old size, the proof hashes and the checkpoint note.

    Raises RequestFormatError for a body that is too large, has no empty line
    after the proof, a malformed old size line, more than 63 proof lines, or a
    proof line that is not one base64 hash.
    """
    if len(body) > MAX_BODY_BYTES:
        raise RequestFormatError(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    end = body.find(b"\n\n")
    if end < 0:
        raise RequestFormatError(
            "the body must be an 'old <size>' line, the proof lines, an empty line and the "
            "checkpoint"
        )
    header, note = body[: end + 1].decode("ascii", "replace").split("\n")[:-1], body[end + 2 :]
    old_line, proof_lines = header[0], header[1:]
    size_text = old_line.removeprefix("old ")
    if (
        size_text == old_line
        or not size_text.isascii()
        or not size_text.isdigit()
        or (len(size_text) > 1 and size_text[0] == "0")
        or int(size_text) > MAX_TREE_SIZE
    ):
        raise RequestFormatError(
            "the first line must be 'old <size>' with the size in decimal without leading "
            f"zeros; got {old_line[:40]!r}"
        )
    if len(proof_lines) > MAX_PROOF_LINES:
        raise RequestFormatError(
            f"a consistency proof has at most {MAX_PROOF_LINES} lines; got {len(proof_lines)}"
        )
    proof = []
    for number, line in enumerate(proof_lines, start=1):
        try:
            digest = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != HASH_SIZE or base64.b64encode(digest).decode("ascii") != line:
            raise RequestFormatError(
                f"consistency proof line {number} is not a {HASH_SIZE}-byte hash in standard "
                f"base64: {line[:60]!r}"
            )
        proof.append(digest)
    return AddCheckpointRequest(int(size_text), tuple(proof), note)
