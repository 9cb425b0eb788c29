"""Bounds on every input of the ledger format, checked before any work is done."""

from __future__ import annotations

from guestbook_ledger.format.errors import ProofFormatError

MAX_TREE_SIZE = 2**53 - 1
"""Largest tree size or leaf index: the largest integer RFC 8785 (I-JSON) can carry
exactly, so every size fits a signed tree head and a PostgreSQL ``bigint``."""

MAX_PROOF_LENGTH = 64
"""Longest accepted proof. A tree of at most 2**53 - 1 leaves needs at most 54
hashes for any inclusion or consistency proof; anything longer is garbage."""

MAX_AUTHOR_LENGTH = 64
"""Longest author, in Unicode code points after NFC normalisation."""

MAX_MESSAGE_LENGTH = 2000
"""Longest message, in Unicode code points after NFC normalisation."""


def check_tree_number(value: int, what: str, *, minimum: int = 0) -> None:
    """Require a tree size or leaf index ``what``: an integer (not a bool) in
    ``minimum..MAX_TREE_SIZE``. Raises ProofFormatError saying which it is not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofFormatError(f"{what} must be an integer; got {type(value).__name__}")
    if not minimum <= value <= MAX_TREE_SIZE:
        raise ProofFormatError(f"{what} must be between {minimum} and {MAX_TREE_SIZE}; got {value}")
