"""Tree heads as C2SP checkpoints (``c2sp.org/tlog-checkpoint``) in signed notes.

The checkpoint text is three lines: the ledger's origin, the tree size in
decimal and the root hash in standard base64::

    ledger.guestbook.io/default/guestbook
    13
    kH5bXGdG7Z0GHy1sY1v7m0M0rK7kq3JWqvYb8gAJcDM=

It is signed as a note by the ledger's Ed25519 key under the key name = origin.
No extension lines are written (the spec advises against them), so the seal
time is kept beside the checkpoint, unsigned. Ledger format v1's JSON tree
heads (:mod:`.sth`) stay readable and verifiable; `TreeHead` is either kind.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from guestbook_ledger.format.errors import (
    CheckpointFormatError,
    KeyFormatError,
    SignatureError,
)
from guestbook_ledger.format.hashing import HASH_SIZE
from guestbook_ledger.format.limits import MAX_TREE_SIZE
from guestbook_ledger.format.names import parse_ledger_name
from guestbook_ledger.format.note import (
    Note,
    NoteSignature,
    NoteVerifier,
    check_key_name,
    open_note,
    sign_note,
)
from guestbook_ledger.format.sth import SignedTreeHead, verify_tree_head
from guestbook_ledger.format.sth import key_id as ledger_key_id

DEFAULT_ORIGIN_PREFIX = "ledger.guestbook.io"
"""Origins of Ledgers without ``spec.origin``: ``ledger.guestbook.io/<namespace>/<name>``."""
MAX_ORIGIN_LENGTH = 512


def default_origin(ledger: str) -> str:
    """The origin of ``NAMESPACE/NAME`` when its spec names none (see decision 0084).

    Raises ValueError for a malformed ledger name.
    """
    namespace, name = parse_ledger_name(ledger)
    return f"{DEFAULT_ORIGIN_PREFIX}/{namespace}/{name}"


def check_origin(origin: str) -> None:
    """Raise CheckpointFormatError unless ``origin`` can be a checkpoint origin and
    note key name: 1–512 characters, no spaces, ``+`` or control characters."""
    if len(origin) > MAX_ORIGIN_LENGTH:
        raise CheckpointFormatError(
            f"an origin is at most {MAX_ORIGIN_LENGTH} characters; got {len(origin)}"
        )
    try:
        check_key_name(origin)
    except KeyFormatError as exc:
        raise CheckpointFormatError(str(exc).replace("a note key name", "an origin")) from None


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint's text, parsed: origin, tree size, root hash (raw) and any
    extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def checkpoint_text(origin: str, tree_size: int, root_hash: bytes) -> str:
    """The checkpoint note text ``origin\\nsize\\nbase64(root)\\n``.

    Raises CheckpointFormatError for a bad origin, a size outside
    0..MAX_TREE_SIZE or a root that is not 32 bytes.
    """
    check_origin(origin)
    if isinstance(tree_size, bool) or not isinstance(tree_size, int):
        raise CheckpointFormatError(f"the tree size must be an integer; got {tree_size!r}")
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        raise CheckpointFormatError(
            f"the tree size must be between 0 and {MAX_TREE_SIZE}; got {tree_size}"
        )
    if len(root_hash) != HASH_SIZE:
        raise CheckpointFormatError(
            f"the root hash must be {HASH_SIZE} bytes; got {len(root_hash)}"
        )
    return f"{origin}\n{tree_size}\n{base64.b64encode(root_hash).decode('ascii')}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Read a checkpoint note text (see `checkpoint_text`); extension lines are kept.

    Raises CheckpointFormatError naming the first malformed line.
    """
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise CheckpointFormatError(
            "a checkpoint is at least three lines (origin, tree size, root hash), "
            "each ending in a newline"
        )
    origin, size_text, root_text, *extensions = lines[:-1]
    check_origin(origin)
    if (
        not size_text.isascii()
        or not size_text.isdigit()
        or (len(size_text) > 1 and size_text[0] == "0")
    ):
        raise CheckpointFormatError(
            f"the checkpoint's second line must be the tree size in decimal without leading "
            f"zeros; got {size_text[:40]!r}"
        )
    tree_size = int(size_text)
    if tree_size > MAX_TREE_SIZE:
        raise CheckpointFormatError(f"the tree size {tree_size} is above {MAX_TREE_SIZE}")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
        raise CheckpointFormatError(
            f"the checkpoint's third line must be a {HASH_SIZE}-byte root hash in standard "
            f"base64; got {root_text[:60]!r}"
        )
    if any(not line for line in extensions):
        raise CheckpointFormatError("a checkpoint's extension lines must not be empty")
    return Checkpoint(origin, tree_size, root, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A ledger's checkpoint signed by its key: what `seal_batch` stores.

    ``ledger`` is ``<namespace>/<name>``; ``key_id`` is the ledger key's id as
    in ledger format v1 (hex SHA-256 of the raw public key), ``note_key_id``
    the 4-byte signed-note key ID; ``timestamp`` (RFC 3339) is when it was
    signed, kept beside the checkpoint, not signed.
    """

    ledger: str
    origin: str
    tree_size: int
    root_hash: bytes
    timestamp: str
    key_id: str
    note_key_id: bytes
    signature: bytes

    def text(self) -> str:
        """The checkpoint note text (what the signature covers)."""
        return checkpoint_text(self.origin, self.tree_size, self.root_hash)

    def note(self) -> str:
        """The signed note as served at ``/checkpoint``."""
        signature = NoteSignature(self.origin, self.note_key_id, self.signature)
        return Note(self.text(), (signature,)).to_text()

    def to_dict(self) -> dict[str, Any]:
        """The head as a JSON-ready dict (API responses, the Ledger's status)."""
        return {
            "format": "checkpoint",
            "ledger": self.ledger,
            "origin": self.origin,
            "treeSize": self.tree_size,
            "rootHash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "keyId": self.key_id,
            "checkpoint": self.note(),
        }


TreeHead = SignedTreeHead | SignedCheckpoint
"""Any signed tree head a ledger stores: a v1 JSON head (sealed before
checkpoints) or a checkpoint (every seal since)."""


def sign_checkpoint(
    private_key: Ed25519PrivateKey,
    *,
    ledger: str,
    origin: str,
    tree_size: int,
    root_hash: bytes,
    timestamp: str,
) -> SignedCheckpoint:
    """Sign the checkpoint of ``origin`` at ``tree_size`` with root ``root_hash``.

    Raises CheckpointFormatError for malformed fields (see `checkpoint_text`).
    """
    text = checkpoint_text(origin, tree_size, root_hash)
    signature = sign_note(text, origin, private_key)
    return SignedCheckpoint(
        ledger=ledger,
        origin=origin,
        tree_size=tree_size,
        root_hash=root_hash,
        timestamp=timestamp,
        key_id=ledger_key_id(private_key.public_key()),
        note_key_id=signature.key_id,
        signature=signature.signature,
    )


def verifier_key(origin: str, public_key: Ed25519PublicKey) -> str:
    """The note verifier key ``<origin>+<hex key ID>+<base64(0x01 ‖ key)>`` of a
    ledger. Raises CheckpointFormatError for a bad origin."""
    check_origin(origin)
    return NoteVerifier.for_key(origin, public_key).to_text()


def verify_checkpoint(head: SignedCheckpoint, public_key: Ed25519PublicKey) -> None:
    """Check that the stored checkpoint ``head`` was signed by ``public_key``.

    Raises SignatureError when it names another key or the signature does not
    match, CheckpointFormatError when its fields are malformed.
    """
    verifier = NoteVerifier.for_key(head.origin, public_key)
    if head.note_key_id != verifier.key_id:
        raise SignatureError(
            f"the checkpoint was signed by note key ID {head.note_key_id.hex()}, not by the "
            f"given key ({verifier.key_id.hex()})"
        )
    try:
        open_note(head.note(), [verifier])
    except SignatureError:
        raise SignatureError(
            f"the signature does not match the checkpoint of {head.origin} at size "
            f"{head.tree_size}: the checkpoint or its signature was altered"
        ) from None


def verify_head(head: TreeHead, public_key: Ed25519PublicKey) -> None:
    """Verify either kind of tree head (see `verify_checkpoint`, `verify_tree_head`)."""
    if isinstance(head, SignedCheckpoint):
        verify_checkpoint(head, public_key)
    else:
        verify_tree_head(head, public_key)


def open_checkpoint(data: str | bytes, verifier: NoteVerifier) -> Checkpoint:
    """Verify a signed checkpoint note with the log's ``verifier`` and parse it.

    The checkpoint's origin must be the verifier's key name. Raises
    NoteFormatError or CheckpointFormatError for malformed input,
    SignatureError when the log's signature is missing or does not verify, or
    the origin is not the key's name.
    """
    note, _ = open_note(data, [verifier])
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != verifier.name:
        raise SignatureError(
            f"the checkpoint's origin is {checkpoint.origin!r}, but the key is named "
            f"{verifier.name!r}: it is another log's checkpoint"
        )
    return checkpoint
