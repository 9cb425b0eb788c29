"""RFC 9162 §2.1.1 hashing with SHA-256: domain-separated leaf and node hashes.

A leaf hash is SHA-256(0x00 ‖ record), a node hash SHA-256(0x01 ‖ left ‖ right);
the prefixes keep a leaf from ever being mistaken for an interior node.
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
"""Length in bytes of every hash in the ledger (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the tree with no leaves: SHA-256 of the empty string."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

# Copying a hasher that has already absorbed the prefix is measurably faster than
# concatenating the prefix onto every input (see docs/decisions/0002).
_LEAF_HASHER = hashlib.sha256(LEAF_PREFIX)
_NODE_HASHER = hashlib.sha256(NODE_PREFIX)


def leaf_hash(record: bytes) -> bytes:
    """Return SHA-256(0x00 ‖ record), the hash of one leaf."""
    hasher = _LEAF_HASHER.copy()
    hasher.update(record)
    return hasher.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 ‖ left ‖ right), the hash of an interior node."""
    hasher = _NODE_HASHER.copy()
    hasher.update(left)
    hasher.update(right)
    return hasher.digest()
