"""Signed tree heads: a ledger's size and root at a moment, signed with Ed25519.

The signed payload is RFC 8785 canonical JSON of ``{"v":1,"ledger":...,
"treeSize":N,"rootHash":"<hex>","timestamp":"<RFC 3339>"}``; the document
published beside it adds ``"keyId"`` (hex SHA-256 of the raw 32-byte public key)
and ``"signature"`` (standard base64).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from guestbook_ledger.format.errors import (
    HashFormatError,
    KeyFormatError,
    SignatureError,
    TreeHeadFormatError,
)
from guestbook_ledger.format.hashing import HASH_SIZE
from guestbook_ledger.format.hexcodec import parse_hash
from guestbook_ledger.format.limits import MAX_TREE_SIZE
from guestbook_ledger.format.names import is_rfc3339, parse_ledger_name

TREE_HEAD_VERSION = 1
SIGNATURE_SIZE = 64
MAX_DOCUMENT_SIZE = 64 * 1024
"""Largest tree head document read; a real one is about 400 bytes."""

_FIELDS = frozenset({"v", "ledger", "treeSize", "rootHash", "timestamp", "keyId", "signature"})


def _check_head(*, ledger: str, tree_size: int, root_hash: bytes, timestamp: str) -> None:
    try:
        parse_ledger_name(ledger)
    except ValueError as exc:
        raise TreeHeadFormatError(str(exc)) from None
    if isinstance(tree_size, bool) or not isinstance(tree_size, int):
        raise TreeHeadFormatError(f"treeSize must be an integer; got {type(tree_size).__name__}")
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        raise TreeHeadFormatError(
            f"treeSize must be between 0 and {MAX_TREE_SIZE}; got {tree_size}"
        )
    if len(root_hash) != HASH_SIZE:
        raise TreeHeadFormatError(f"rootHash must be {HASH_SIZE} bytes; got {len(root_hash)}")
    if not is_rfc3339(timestamp):
        raise TreeHeadFormatError(
            f"timestamp must be RFC 3339 such as 2026-11-25T11:26:32Z; got {timestamp[:100]!r}"
        )


def tree_head_payload(*, ledger: str, tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    """Return the canonical bytes that a tree head's signature covers.

    Raises :class:`TreeHeadFormatError` for a malformed ledger name, a size
    outside 0..MAX_TREE_SIZE, a root that is not 32 bytes or a timestamp that
    is not RFC 3339.
    """
    _check_head(ledger=ledger, tree_size=tree_size, root_hash=root_hash, timestamp=timestamp)
    payload: bytes = rfc8785.dumps(
        {
            "v": TREE_HEAD_VERSION,
            "ledger": ledger,
            "treeSize": tree_size,
            "rootHash": root_hash.hex(),
            "timestamp": timestamp,
        }
    )
    return payload


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the key's id: lowercase hex SHA-256 of its raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree head and its Ed25519 signature. ``root_hash`` and ``signature``
    are raw bytes; ``key_id`` is hex."""

    ledger: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    signature: bytes

    def payload(self) -> bytes:
        """The canonical bytes the signature covers."""
        return tree_head_payload(
            ledger=self.ledger,
            tree_size=self.tree_size,
            root_hash=self.root_hash,
            timestamp=self.timestamp,
        )

    def to_dict(self) -> dict[str, Any]:
        """The published document as a JSON-ready dict (e.g. for a resource's status)."""
        return {
            "v": TREE_HEAD_VERSION,
            "ledger": self.ledger,
            "treeSize": self.tree_size,
            "rootHash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "keyId": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    def to_json(self) -> str:
        """The published document as canonical (RFC 8785) JSON text."""
        text: bytes = rfc8785.dumps(self.to_dict())
        return text.decode("utf-8")

    @classmethod
    def from_dict(cls, document: object) -> SignedTreeHead:
        """Read a published document (as produced by :meth:`to_dict`).

        Raises :class:`TreeHeadFormatError` naming the first missing, unknown
        or malformed field.
        """
        if not isinstance(document, dict):
            raise TreeHeadFormatError(
                f"a tree head is a JSON object; got {type(document).__name__}"
            )
        missing = sorted(_FIELDS - document.keys())
        if missing:
            raise TreeHeadFormatError(f"the tree head lacks the field(s) {', '.join(missing)}")
        unknown = sorted(str(key) for key in document.keys() - _FIELDS)
        if unknown:
            raise TreeHeadFormatError(f"the tree head has unknown field(s) {', '.join(unknown)}")
        if document["v"] != TREE_HEAD_VERSION or isinstance(document["v"], bool):
            raise TreeHeadFormatError(
                f"this tree head is format version {document['v']!r}; "
                f"only version {TREE_HEAD_VERSION} is understood"
            )
        for field in ("ledger", "rootHash", "timestamp", "keyId", "signature"):
            if not isinstance(document[field], str):
                raise TreeHeadFormatError(f"{field} must be a string")
        try:
            root = parse_hash(document["rootHash"], what="rootHash")
            parse_hash(document["keyId"], what="keyId")
        except HashFormatError as exc:
            raise TreeHeadFormatError(str(exc)) from None
        signature_text: str = document["signature"]
        try:
            signature = base64.b64decode(signature_text, validate=True)
        except (binascii.Error, ValueError):
            raise TreeHeadFormatError(
                "signature must be standard base64 (A-Z, a-z, 0-9, +, / and = padding)"
            ) from None
        if len(signature) != SIGNATURE_SIZE:
            raise TreeHeadFormatError(
                f"signature must be {SIGNATURE_SIZE} bytes (Ed25519); got {len(signature)}"
            )
        head = cls(
            ledger=document["ledger"],
            tree_size=document["treeSize"],
            root_hash=root,
            timestamp=document["timestamp"],
            key_id=document["keyId"].strip().lower(),
            signature=signature,
        )
        head.payload()  # validates ledger, treeSize and timestamp
        return head

    @classmethod
    def from_json(cls, text: str | bytes) -> SignedTreeHead:
        """Read a published document from JSON text.

        Raises :class:`TreeHeadFormatError` when the text is too large, not
        JSON, or not a well-formed tree head.
        """
        if len(text) > MAX_DOCUMENT_SIZE:
            raise TreeHeadFormatError(
                f"a tree head document is at most {MAX_DOCUMENT_SIZE} bytes; got {len(text)}"
            )
        try:
            document = json.loads(text)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
            raise TreeHeadFormatError(f"the tree head is not valid JSON: {exc}") from None
        except RecursionError:
            raise TreeHeadFormatError("the tree head is not valid JSON: nested too deep") from None
        return cls.from_dict(document)


def sign_tree_head(
    private_key: Ed25519PrivateKey,
    *,
    ledger: str,
    tree_size: int,
    root_hash: bytes,
    timestamp: str,
) -> SignedTreeHead:
    """Sign the tree head with ``private_key``.

    Raises :class:`TreeHeadFormatError` for malformed fields (see
    :func:`tree_head_payload`).
    """
    payload = tree_head_payload(
        ledger=ledger, tree_size=tree_size, root_hash=root_hash, timestamp=timestamp
    )
    return SignedTreeHead(
        ledger=ledger,
        tree_size=tree_size,
        root_hash=root_hash,
        timestamp=timestamp,
        key_id=key_id(private_key.public_key()),
        signature=private_key.sign(payload),
    )


def verify_tree_head(sth: SignedTreeHead, public_key: Ed25519PublicKey) -> None:
    """Check that ``sth`` was signed by ``public_key``; return None if so.

    Raises :class:`SignatureError` when the head names another key or the
    signature does not match its fields, and :class:`TreeHeadFormatError` when
    its fields are malformed.
    """
    payload = sth.payload()
    expected = key_id(public_key)
    if sth.key_id != expected:
        raise SignatureError(
            f"the tree head was signed by key {sth.key_id}, not by the given key {expected}"
        )
    try:
        public_key.verify(sth.signature, payload)
    except InvalidSignature:
        raise SignatureError(
            f"the signature does not match the tree head of {sth.ledger} at size "
            f"{sth.tree_size}: the head or its signature was altered"
        ) from None


def generate_private_key() -> Ed25519PrivateKey:
    """Return a new random Ed25519 signing key."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(private_key: Ed25519PrivateKey) -> bytes:
    """Serialize the key as unencrypted PKCS #8 PEM (keep it in a Secret)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_to_pem(public_key: Ed25519PublicKey) -> bytes:
    """Serialize the public key as SubjectPublicKeyInfo PEM."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key_pem(data: bytes) -> Ed25519PrivateKey:
    """Read an unencrypted PKCS #8 PEM Ed25519 private key.

    Raises :class:`KeyFormatError` when ``data`` is not one.
    """
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFormatError(
            "not an unencrypted PEM private key; "
            "expected a file beginning with -----BEGIN PRIVATE KEY-----"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"the private key is {type(key).__name__}, not Ed25519")
    return key


def load_public_key_pem(data: bytes) -> Ed25519PublicKey:
    """Read a SubjectPublicKeyInfo PEM Ed25519 public key.

    Raises :class:`KeyFormatError` when ``data`` is not one.
    """
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyFormatError(
            "not a PEM public key; expected a file beginning with -----BEGIN PUBLIC KEY-----"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFormatError(f"the public key is {type(key).__name__}, not Ed25519")
    return key
