"""Hashing and sealing: pending entries become leaves of the ledger's Merkle tree.

Hashing is parallel: any number of workers `claim_pending` disjoint batches
(``FOR UPDATE SKIP LOCKED``) and store their leaf hashes. Sealing is serial per
ledger: `seal_batch` holds the ledger's advisory lock for one transaction that
appends pending entries in sequence order at contiguous leaf indexes, stores the
perfect nodes they complete and signs the new tree head, a C2SP checkpoint of
the ledger's origin (decision 0084). It reads only the
frontier of the existing tree (O(log n) nodes), never all leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg2.extras import execute_values

from guestbook_ledger.format.checkpoint import SignedCheckpoint, TreeHead, sign_checkpoint
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.names import rfc3339_utc
from guestbook_ledger.format.ranges import new_perfect_nodes, perfect_subtrees, root_from_frontier
from guestbook_ledger.format.sth import key_id
from guestbook_ledger.store.errors import SigningKeyError, TreeDamagedError
from guestbook_ledger.store.heads import insert_head, read_latest_head
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.locks import SEAL_LOCK_CLASS
from guestbook_ledger.store.nodes import read_nodes, write_nodes
from guestbook_ledger.store.schema import Connection

MAX_BATCH = 10_000
"""Largest batch one call hashes or seals, so one transaction stays short."""


@dataclass(frozen=True)
class HashedEntry:
    """A pending entry whose leaf hash a worker computed and stored."""

    seq: int
    uid: str
    leaf_hash: bytes


@dataclass(frozen=True)
class SealedEntry:
    """An entry appended to the tree by `seal_batch`."""

    seq: int
    uid: str
    entry_name: str
    leaf_index: int
    leaf_hash: bytes


@dataclass(frozen=True)
class SealResult:
    """The tree head after a seal and the entries this call appended (possibly none).
    A seal that appended entries always signed a checkpoint; with nothing
    appended, the latest head is returned, which may be a ledger format v1 JSON
    head sealed before checkpoints."""

    tree_head: TreeHead
    sealed: list[SealedEntry]


def _check_limit(limit: int, what: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH:
        raise ValueError(f"{what} must be an integer from 1 to {MAX_BATCH}; got {limit!r}")


def claim_pending(conn: Connection, ledger: str, *, limit: int = 100) -> list[HashedEntry]:
    """Claim up to `limit` unhashed pending entries (oldest first), store their
    leaf hashes and return them. Commits.

    Concurrent callers never claim the same entry: rows another worker is
    hashing are skipped, not waited for. An empty list means no work is left.
    Raises ValueError for a limit outside 1..MAX_BATCH, LedgerNameError,
    UnknownLedgerError.
    """
    _check_limit(limit, "limit")
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT seq, uid, record FROM entries"
            " WHERE ledger_id = %s AND state = 'pending' AND leaf_hash IS NULL"
            " ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
            (found.id, limit),
        )
        hashed = [HashedEntry(seq, uid, leaf_hash(bytes(record))) for seq, uid, record in cur]
        if hashed:
            execute_values(
                cur,
                "UPDATE entries SET leaf_hash = v.leaf_hash"
                " FROM (VALUES %s) AS v (ledger_id, seq, leaf_hash)"
                " WHERE entries.ledger_id = v.ledger_id AND entries.seq = v.seq",
                [(found.id, entry.seq, entry.leaf_hash) for entry in hashed],
                page_size=len(hashed),
            )
    return hashed


def seal_batch(
    conn: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    *,
    max_entries: int = 1000,
    timestamp: str | None = None,
) -> SealResult:
    """Append up to `max_entries` pending entries, in sequence order, to the tree
    of ``NAMESPACE/NAME`` and sign the new tree head, a checkpoint of the
    ledger's origin; one transaction. Commits.

    Entries not yet hashed are hashed here, so a claimed-but-abandoned entry
    never holds up the ledger. With nothing pending this changes nothing and
    returns the latest head (the first call on an empty ledger signs the head
    of the empty tree). `timestamp` (RFC 3339) defaults to now.

    Raises ValueError for `max_entries` outside 1..MAX_BATCH, SigningKeyError
    when `signer`'s public key is not registered for the ledger (see
    `ensure_ledger`), TreeDamagedError when the stored nodes do not reproduce
    the latest signed root, LedgerNameError, UnknownLedgerError.
    """
    _check_limit(max_entries, "max_entries")
    signer_id = key_id(signer.public_key())
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s::integer)", (SEAL_LOCK_CLASS, found.id))
        cur.execute(
            "SELECT 1 FROM ledger_keys WHERE ledger_id = %s AND key_id = %s",
            (found.id, bytes.fromhex(signer_id)),
        )
        if cur.fetchone() is None:
            raise SigningKeyError(
                f"The signing key {signer_id} is not registered for ledger {ledger!r}; "
                "register its public key with ensure_ledger first."
            )
        head = read_latest_head(cur, found)
        size = 0 if head is None else head.tree_size
        cur.execute(
            "SELECT seq, uid, entry_name, record, leaf_hash FROM entries"
            " WHERE ledger_id = %s AND state = 'pending' ORDER BY seq LIMIT %s FOR UPDATE",
            (found.id, max_entries),
        )
        pending = cur.fetchall()
        if head is not None and not pending:
            return SealResult(tree_head=head, sealed=[])
        frontier = read_nodes(cur, found.id, perfect_subtrees(0, size))
        if head is not None and root_from_frontier(frontier) != head.root_hash:
            raise TreeDamagedError(
                f"The stored tree of ledger {ledger!r} does not reproduce its signed root at "
                f"size {size}; nothing was sealed. Run `guestbook-ledger audit` to find the damage."
            )
        sealed = [
            SealedEntry(
                seq=seq,
                uid=uid,
                entry_name=entry_name,
                leaf_index=size + offset,
                leaf_hash=bytes(stored) if stored is not None else leaf_hash(bytes(record)),
            )
            for offset, (seq, uid, entry_name, record, stored) in enumerate(pending)
        ]
        completed, new_frontier = new_perfect_nodes(
            size, frontier, [entry.leaf_hash for entry in sealed]
        )
        write_nodes(cur, found.id, completed)
        if sealed:
            execute_values(
                cur,
                "UPDATE entries SET state = 'sealed', leaf_index = v.leaf_index,"
                " leaf_hash = v.leaf_hash, sealed_at = now()"
                " FROM (VALUES %s) AS v (ledger_id, seq, leaf_index, leaf_hash)"
                " WHERE entries.ledger_id = v.ledger_id AND entries.seq = v.seq",
                [(found.id, e.seq, e.leaf_index, e.leaf_hash) for e in sealed],
                page_size=len(sealed),
            )
        new_head: SignedCheckpoint = sign_checkpoint(
            signer,
            ledger=found.full_name,
            origin=found.origin,
            tree_size=size + len(sealed),
            root_hash=root_from_frontier(new_frontier),
            timestamp=timestamp if timestamp is not None else rfc3339_utc(),
        )
        insert_head(cur, found, new_head)
    return SealResult(tree_head=new_head, sealed=sealed)
