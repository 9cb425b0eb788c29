"""Ledger format v1, the one module every component imports.

- :mod:`.record`: the canonical entry record (RFC 8785, NFC text).
- :mod:`.hashing`: RFC 9162 leaf and node hashes.
- :mod:`.tree`: root and proofs of a tree held in memory.
- :mod:`.ranges`: the proof plan over stored perfect subtrees (for the database).
- :mod:`.proof`: inclusion and consistency proof verification.
- :mod:`.sth`: Ed25519 signed tree heads as JSON (ledger format v1, before checkpoints).
- :mod:`.note`: C2SP signed notes with Ed25519 keys.
- :mod:`.checkpoint`: tree heads as C2SP checkpoints in signed notes (every seal since).
- :mod:`.tiles`: C2SP tlog-tiles paths and entry bundles.
- :mod:`.tile_verification`: re-deriving served tiles and bundles, roots from tiles (monitors).
- :mod:`.proof_file`: C2SP tlog-proof files (an entry's proof people keep).
- :mod:`.hexcodec`: hashes and proofs as hex at the edges.

Inside Python every hash is 32 raw bytes; hex appears only at the edges.
"""

from guestbook_ledger.format.checkpoint import (
    Checkpoint,
    SignedCheckpoint,
    TreeHead,
    checkpoint_text,
    default_origin,
    open_checkpoint,
    parse_checkpoint_text,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
    verify_head,
)
from guestbook_ledger.format.errors import (
    CheckpointFormatError,
    CosignaturePolicyError,
    HashFormatError,
    KeyFormatError,
    NoteFormatError,
    ProofError,
    ProofFileFormatError,
    ProofFormatError,
    RecordError,
    SignatureError,
    TileError,
    TreeHeadFormatError,
)
from guestbook_ledger.format.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from guestbook_ledger.format.hexcodec import format_hash, format_proof, parse_hash, parse_proof
from guestbook_ledger.format.limits import (
    MAX_AUTHOR_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_PROOF_LENGTH,
    MAX_TREE_SIZE,
)
from guestbook_ledger.format.names import (
    is_rfc3339,
    ledger_name,
    parse_ledger_name,
    rfc3339_utc,
)
from guestbook_ledger.format.note import NoteVerifier, open_note, parse_note
from guestbook_ledger.format.proof import (
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from guestbook_ledger.format.proof_file import (
    ProofFile,
    VerifiedProof,
    build_proof_file,
    parse_proof_file,
    verify_proof_file,
)
from guestbook_ledger.format.ranges import (
    consistency_ranges,
    fold_range,
    inclusion_ranges,
    new_perfect_nodes,
    perfect_subtrees,
    root_from_frontier,
)
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.format.sth import (
    SignedTreeHead,
    generate_private_key,
    key_id,
    load_private_key_pem,
    load_public_key_pem,
    private_key_to_pem,
    public_key_to_pem,
    sign_tree_head,
    tree_head_payload,
    verify_tree_head,
)
from guestbook_ledger.format.tree import consistency_proof, inclusion_proof, root_hash

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_AUTHOR_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "MAX_PROOF_LENGTH",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointFormatError",
    "CosignaturePolicyError",
    "HashFormatError",
    "KeyFormatError",
    "NoteFormatError",
    "NoteVerifier",
    "ProofError",
    "ProofFile",
    "ProofFileFormatError",
    "ProofFormatError",
    "RecordError",
    "SignatureError",
    "SignedCheckpoint",
    "SignedTreeHead",
    "TileError",
    "TreeHead",
    "TreeHeadFormatError",
    "VerifiedProof",
    "build_proof_file",
    "checkpoint_text",
    "consistency_proof",
    "consistency_ranges",
    "default_origin",
    "entry_record",
    "fold_range",
    "format_hash",
    "format_proof",
    "generate_private_key",
    "inclusion_proof",
    "inclusion_ranges",
    "is_rfc3339",
    "key_id",
    "leaf_hash",
    "ledger_name",
    "load_private_key_pem",
    "load_public_key_pem",
    "new_perfect_nodes",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint_text",
    "parse_hash",
    "parse_ledger_name",
    "parse_note",
    "parse_proof",
    "parse_proof_file",
    "perfect_subtrees",
    "private_key_to_pem",
    "public_key_to_pem",
    "rfc3339_utc",
    "root_from_frontier",
    "root_from_inclusion_proof",
    "root_hash",
    "sign_checkpoint",
    "sign_tree_head",
    "tree_head_payload",
    "verifier_key",
    "verify_checkpoint",
    "verify_consistency",
    "verify_head",
    "verify_inclusion",
    "verify_proof_file",
    "verify_tree_head",
]
