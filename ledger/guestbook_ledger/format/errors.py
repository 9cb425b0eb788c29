"""Every error the ledger format raises, in one place so callers can catch by kind.

Errors a user can meet carry one sentence that says what was expected and what
was found. ``ValueError`` subclasses mean malformed input (a command exits with
status 2); the others mean well-formed input that does not verify (status 1).
"""

from __future__ import annotations


class RecordError(ValueError):
    """An entry cannot become a ledger record (invalid Unicode, too long, bad name)."""


class HashFormatError(ValueError):
    """Text that should hold a hash (or a list of hashes) is not well-formed hex."""


class ProofFormatError(ValueError):
    """Proof inputs are malformed: negative or out-of-range sizes, wrong hash lengths."""


class ProofError(Exception):
    """A well-formed proof does not verify: it proves something other than what was claimed."""


class TreeHeadFormatError(ValueError):
    """A signed tree head document is not valid JSON of the expected shape."""


class KeyFormatError(ValueError):
    """A key file does not hold an Ed25519 key in PEM form."""


class SignatureError(Exception):
    """A signature (tree head, note, checkpoint) does not verify under the given key."""


class NoteFormatError(ValueError):
    """Text that should be a C2SP signed note is malformed (no blank line, bad signature line)."""


class CheckpointFormatError(ValueError):
    """A note's text is not a C2SP checkpoint (origin, tree size, base64 root hash)."""


class ProofFileFormatError(ValueError):
    """Text that should be a C2SP ``tlog-proof`` file is malformed (header, index, hash lines)."""


class CosignaturePolicyError(Exception):
    """A checkpoint verifies but carries fewer valid witness cosignatures than the policy needs."""


class TileError(Exception):
    """A tile or entry bundle a log served is not what its tree hashes to (a bad tile)."""
