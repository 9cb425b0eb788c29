"""The ledger store in PostgreSQL: the ledger of record.

Entries are admitted as pending with a sequence number, hashed by any number of
workers in parallel, and sealed per ledger, in sequence order, into an RFC 9162
Merkle tree whose perfect subtrees are stored as nodes, with a signed tree head
per seal. The database itself keeps history append-only. Every function takes a
psycopg2 connection (see `open_store`) and runs its own transaction.
"""

from guestbook_ledger.store.admission import (
    Admission,
    NewEntry,
    admit_entries,
    admit_entry,
    withdraw_entry,
)
from guestbook_ledger.store.audit import AuditReport, Mismatch, MismatchKind, audit_ledger
from guestbook_ledger.store.backlog import (
    PendingEntry,
    pending_count,
    pending_entries,
    seal_latencies,
)
from guestbook_ledger.store.entries import StoredEntry, entry_by_uid
from guestbook_ledger.store.errors import (
    DatabaseUnavailableError,
    EntryConflictError,
    EntryStateError,
    InvalidDsnError,
    LedgerNameError,
    MissingNodeError,
    OriginError,
    SigningKeyError,
    StoreError,
    TileNotFoundError,
    TreeDamagedError,
    TreeSizeError,
    UnknownEntryError,
    UnknownLedgerError,
)
from guestbook_ledger.store.heads import (
    first_head_containing,
    latest_checkpoint,
    latest_tree_head,
    tree_head_at,
)
from guestbook_ledger.store.ledgers import Ledger, ensure_ledger
from guestbook_ledger.store.proofs import consistency_proof, inclusion_proof, root_hash_at
from guestbook_ledger.store.schema import Connection, connect, migrate, open_store
from guestbook_ledger.store.sealing import (
    HashedEntry,
    SealedEntry,
    SealResult,
    claim_pending,
    seal_batch,
)
from guestbook_ledger.store.tiles import read_entry_records, read_tile

__all__ = [
    "Admission",
    "AuditReport",
    "Connection",
    "DatabaseUnavailableError",
    "EntryConflictError",
    "EntryStateError",
    "HashedEntry",
    "InvalidDsnError",
    "Ledger",
    "LedgerNameError",
    "Mismatch",
    "MismatchKind",
    "MissingNodeError",
    "NewEntry",
    "OriginError",
    "PendingEntry",
    "SealResult",
    "SealedEntry",
    "SigningKeyError",
    "StoreError",
    "StoredEntry",
    "TileNotFoundError",
    "TreeDamagedError",
    "TreeSizeError",
    "UnknownEntryError",
    "UnknownLedgerError",
    "admit_entries",
    "admit_entry",
    "audit_ledger",
    "claim_pending",
    "connect",
    "consistency_proof",
    "ensure_ledger",
    "entry_by_uid",
    "first_head_containing",
    "inclusion_proof",
    "latest_checkpoint",
    "latest_tree_head",
    "migrate",
    "open_store",
    "pending_count",
    "pending_entries",
    "read_entry_records",
    "read_tile",
    "root_hash_at",
    "seal_batch",
    "seal_latencies",
    "tree_head_at",
    "withdraw_entry",
]
