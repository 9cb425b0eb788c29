"""Bounds on every input of the ledger format, checked before any work is done."""

from __future__ import annotations

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
