"""Proof files, C2SP ``tlog-proof`` (``c2sp.org/tlog-proof@v1``): an entry's
inclusion proof and the checkpoint it leads to, in one offline-verifiable text::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry record>
    index 3
    <base64 hash: the leaf's sibling>
    ... (up to the root's child)

    <the checkpoint note, verbatim, with any witness cosignatures>

The spec leaves the ``extra`` line's meaning to the application; this ledger
puts the entry's record there (the exact RFC 8785 bytes that were
leaf-hashed), so a file says *what* is in the log as well as *where*. Nothing
trusts it implicitly, as the spec demands: the record is only believed because
its leaf hash, folded up the proof, gives the root the log signed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from guestbook_ledger.format.checkpoint import Checkpoint, open_checkpoint
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, verify_cosignatures
from guestbook_ledger.format.errors import (
    CosignaturePolicyError,
    ProofError,
    ProofFileFormatError,
)
from guestbook_ledger.format.hashing import HASH_SIZE, leaf_hash
from guestbook_ledger.format.limits import MAX_PROOF_LENGTH, MAX_TREE_SIZE
from guestbook_ledger.format.note import MAX_NOTE_SIZE, NoteVerifier
from guestbook_ledger.format.proof import verify_inclusion

PROOF_FILE_HEADER = "c2sp.org/tlog-proof@v1"
PROOF_FILE_SUFFIX = ".tlog-proof"
"""The file extension the spec recommends."""
MAX_EXTRA_SIZE = 64 * 1024
"""Largest extra data read: an entry record is at most ~8 kB (2000 characters of UTF-8)."""
MAX_PROOF_FILE_SIZE = MAX_NOTE_SIZE + 4 * MAX_EXTRA_SIZE // 3 + 8 * 1024
"""Largest proof file read: a checkpoint note, the extra line and 64 hash lines."""


@dataclass(frozen=True)
class ProofFile:
    """A parsed proof file (nothing verified): the leaf ``index``, the inclusion
    ``proof`` (raw 32-byte hashes, the leaf's sibling first), the ``checkpoint``
    note verbatim and the ``extra`` data (None when the line is absent)."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def to_text(self) -> str:
        """The proof file's text (see the module docstring)."""
        lines = [PROOF_FILE_HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(h).decode("ascii") for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint


def build_proof_file(
    *, index: int, proof: Sequence[bytes], checkpoint: str, extra: bytes | None = None
) -> ProofFile:
    """A proof file for leaf ``index`` with inclusion ``proof`` in the tree of the
    signed ``checkpoint`` note, carrying ``extra`` (the entry record).

    Requires 0 ≤ index ≤ MAX_TREE_SIZE, at most MAX_PROOF_LENGTH hashes of 32
    bytes, a checkpoint note that ends in a newline and an extra of at most
    MAX_EXTRA_SIZE bytes; raises ProofFileFormatError otherwise. Nothing is
    verified: `verify_proof_file` does that.
    """
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= MAX_TREE_SIZE:
        raise ProofFileFormatError(f"the leaf index must be 0 to {MAX_TREE_SIZE}; got {index!r}")
    _check_hashes(proof)
    if not checkpoint.endswith("\n") or not checkpoint.strip():
        raise ProofFileFormatError("the checkpoint must be a signed note ending in a newline")
    if extra is not None and len(extra) > MAX_EXTRA_SIZE:
        raise ProofFileFormatError(
            f"the extra data is at most {MAX_EXTRA_SIZE} bytes; got {len(extra)}"
        )
    return ProofFile(index=index, proof=tuple(proof), checkpoint=checkpoint, extra=extra)


def _check_hashes(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofFileFormatError(
            f"an inclusion proof has at most {MAX_PROOF_LENGTH} hashes; got {len(proof)}"
        )
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise ProofFileFormatError(
                f"proof hash {position} must be {HASH_SIZE} bytes; got {len(element)}"
            )


def _base64(text: str) -> bytes | None:
    """Standard, padded, canonical base64, or None."""
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value if base64.b64encode(value).decode("ascii") == text else None


def parse_proof_file(data: str | bytes) -> ProofFile:
    """Read a proof file (nothing verified; see `verify_proof_file`).

    Only the spec's form is accepted: the header line, an optional ``extra``
    line of standard base64, ``index N`` in decimal without leading zeros, one
    standard-base64 SHA-256 hash per line, an empty line, then the checkpoint
    note. Raises ProofFileFormatError naming the first line that is wrong.
    """
    if len(data) > MAX_PROOF_FILE_SIZE:
        raise ProofFileFormatError(
            f"a proof file is at most {MAX_PROOF_FILE_SIZE} bytes; got {len(data)}"
        )
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProofFileFormatError("a proof file must be UTF-8 text") from None
    head, blank, checkpoint = data.partition("\n\n")
    lines = head.split("\n")
    if lines[0] != PROOF_FILE_HEADER:
        raise ProofFileFormatError(
            f"a proof file starts with the line {PROOF_FILE_HEADER!r}; got {lines[0][:60]!r}"
        )
    if not blank:
        raise ProofFileFormatError(
            "a proof file needs an empty line between the inclusion proof and the checkpoint"
        )
    position = 1
    extra = None
    if position < len(lines) and lines[position].startswith("extra "):
        extra = _base64(lines[position].removeprefix("extra "))
        if extra is None or len(extra) > MAX_EXTRA_SIZE:
            raise ProofFileFormatError(
                f"line 2 must be 'extra ' and at most {MAX_EXTRA_SIZE} bytes in standard base64"
            )
        position += 1
    index_text = lines[position].removeprefix("index ") if position < len(lines) else ""
    if (
        position >= len(lines)
        or not lines[position].startswith("index ")
        or not index_text.isascii()
        or not index_text.isdigit()
        or (len(index_text) > 1 and index_text[0] == "0")
        or int(index_text) > MAX_TREE_SIZE
    ):
        shown = lines[position][:60] if position < len(lines) else "(none)"
        raise ProofFileFormatError(
            f"line {position + 1} must be 'index N', the leaf index in decimal without leading "
            f"zeros (at most {MAX_TREE_SIZE}); got {shown!r}"
        )
    index = int(index_text)
    hash_lines = lines[position + 1 :]
    if len(hash_lines) > MAX_PROOF_LENGTH:
        raise ProofFileFormatError(
            f"an inclusion proof has at most {MAX_PROOF_LENGTH} hashes; got {len(hash_lines)}"
        )
    proof = []
    for number, line in enumerate(hash_lines, start=position + 2):
        value = _base64(line)
        if value is None or len(value) != HASH_SIZE:
            raise ProofFileFormatError(
                f"line {number} must be a {HASH_SIZE}-byte hash in standard base64; "
                f"got {line[:60]!r}"
            )
        proof.append(value)
    if not checkpoint:
        raise ProofFileFormatError("the proof file has no checkpoint after its empty line")
    return ProofFile(index=index, proof=tuple(proof), checkpoint=checkpoint, extra=extra)


@dataclass(frozen=True)
class VerifiedProof:
    """What a proof file proved: leaf ``index`` with ``leaf_hash`` is in the
    ``checkpoint``'s tree, which the log signed and ``cosignatures`` cosigned."""

    index: int
    leaf_hash: bytes
    checkpoint: Checkpoint
    cosignatures: tuple[Cosignature, ...]
    record: bytes | None


def verify_proof_file(
    proof: ProofFile,
    *,
    log: NoteVerifier,
    witnesses: Sequence[Cosigner] = (),
    quorum: int = 0,
    expected_leaf_hash: bytes | None = None,
) -> VerifiedProof:
    """Check a proof file offline: the checkpoint is signed by the ``log``'s key
    and names its origin; at least ``quorum`` of the distinct ``witnesses``
    cosigned it (``cosignature/v1``); and the leaf — the hash of the ``extra``
    record, or ``expected_leaf_hash`` — is leaf ``proof.index`` of that tree.

    Signatures by unknown keys are ignored (signed-note). When both a record
    and ``expected_leaf_hash`` are there they must agree.

    Requires 0 ≤ quorum ≤ the number of distinct witnesses (else ValueError).
    Raises ProofFileFormatError when the file has neither a record nor an
    ``expected_leaf_hash`` is given, NoteFormatError or CheckpointFormatError
    for a malformed checkpoint, SignatureError when the log's signature is
    missing or wrong or a known witness's cosignature is forged,
    CosignaturePolicyError when too few witnesses cosigned, ProofError when the
    proof does not lead from the leaf to the checkpoint's root.
    """
    distinct = list({(w.name, w.key_id): w for w in witnesses}.values())
    if not 0 <= quorum <= len(distinct):
        raise ValueError(
            f"the policy must ask for 0 to {len(distinct)} witness cosignatures; got {quorum}"
        )
    if proof.extra is not None:
        leaf = leaf_hash(proof.extra)
        if expected_leaf_hash is not None and leaf != expected_leaf_hash:
            raise ProofError(
                f"the proof file's entry record hashes to leaf {leaf.hex()}, not to the "
                f"expected leaf {expected_leaf_hash.hex()}: it proves another entry"
            )
    elif expected_leaf_hash is not None:
        leaf = expected_leaf_hash
    else:
        raise ProofFileFormatError(
            "the proof file carries no entry record (no 'extra' line); give the entry's leaf hash"
        )
    checkpoint = open_checkpoint(proof.checkpoint, log)
    cosignatures = verify_cosignatures(proof.checkpoint, distinct)
    cosigned = {(c.cosigner.name, c.cosigner.key_id): c for c in cosignatures}
    if len(cosigned) < quorum:
        missing = [w.name for w in distinct if (w.name, w.key_id) not in cosigned]
        raise CosignaturePolicyError(
            f"the checkpoint is cosigned by {len(cosigned)} of the {quorum} witnesses the policy "
            f"needs ({', '.join(missing)} did not cosign)"
        )
    if proof.index >= checkpoint.tree_size:
        raise ProofError(
            f"leaf {proof.index} is not in the checkpoint's tree of size {checkpoint.tree_size}"
        )
    verify_inclusion(
        leaf_hash=leaf,
        index=proof.index,
        size=checkpoint.tree_size,
        proof=proof.proof,
        root=checkpoint.root_hash,
    )
    return VerifiedProof(
        index=proof.index,
        leaf_hash=leaf,
        checkpoint=checkpoint,
        cosignatures=tuple(cosigned.values()),
        record=proof.extra,
    )
