"""The audit: recompute a ledger from its stored entries and compare with everything stored.

Unlike appends and proofs, the audit reads every sealed entry — streamed in
leaf order through a server-side cursor, in chunks, inside one read-only
repeatable-read transaction so it sees a single consistent snapshot. For each
entry it rebuilds the canonical record from the stored fields and its leaf
hash; from those leaf hashes it rebuilds the tree, comparing every stored node
and every signed tree head's root, checks each head's signature, and checks
that successive heads are consistent with the proofs the store would serve.

A damaged leaf changes every node above it and every later root. Nodes are
reported only where the damage starts (a node whose children are intact), and
a head's mismatch says which damaged leaf it follows from, so the report names
causes, not their echoes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.checkpoint import SignedCheckpoint, TreeHead, verify_head
from guestbook_ledger.format.errors import (
    CheckpointFormatError,
    ProofError,
    ProofFormatError,
    RecordError,
    SignatureError,
    TreeHeadFormatError,
)
from guestbook_ledger.format.hashing import EMPTY_ROOT, leaf_hash
from guestbook_ledger.format.proof import verify_consistency
from guestbook_ledger.format.ranges import consistency_ranges, new_perfect_nodes, root_from_frontier
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.errors import MissingNodeError
from guestbook_ledger.store.heads import HEAD_COLUMNS, head_from_row
from guestbook_ledger.store.ledgers import Ledger, find_ledger, ledger_public_keys
from guestbook_ledger.store.proofs import range_hashes
from guestbook_ledger.store.schema import Connection

DEFAULT_CHUNK = 4096


class MismatchKind(enum.StrEnum):
    """What kind of damage an audit found."""

    RECORD = "record"  # stored fields no longer produce the stored record bytes
    LEAF_HASH = "leaf-hash"  # stored leaf hash is not the hash of the record
    LEAF_GAP = "leaf-gap"  # leaf indexes are not 0, 1, 2, ... without gaps
    NODE = "node"  # a stored tree node differs from the recomputed one
    NODE_MISSING = "node-missing"  # a tree node the tree needs is not stored
    NODE_EXTRA = "node-extra"  # a tree node lies beyond the sealed tree
    UNSIGNED = "unsigned"  # sealed entries beyond the latest signed tree head
    HEAD_ROOT = "head-root"  # a signed root differs from the recomputed root
    HEAD_BEYOND = "head-beyond"  # a head claims more leaves than are sealed
    HEAD_SIGNATURE = "head-signature"  # a head's signature does not verify
    CONSISTENCY = "consistency"  # successive heads are not consistent


@dataclass(frozen=True)
class Mismatch:
    """One finding: a sentence for people and the coordinates for programs."""

    kind: MismatchKind
    description: str
    entry_name: str | None = None
    uid: str | None = None
    leaf_index: int | None = None
    tree_size: int | None = None


@dataclass
class AuditReport:
    """The outcome of auditing one ledger; `ok` when nothing was found."""

    ledger: str
    entries_checked: int = 0
    heads_checked: int = 0
    nodes_checked: int = 0
    root_hash: bytes = EMPTY_ROOT
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


Progress = Callable[[int], None]


def audit_ledger(
    conn: Connection,
    ledger: str,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit ``NAMESPACE/NAME`` and return the report; writes nothing.

    `progress`, if given, is called with the number of entries checked so far
    after each chunk. Precondition: no transaction is open on `conn`.
    Raises LedgerNameError, UnknownLedgerError.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1; got {chunk_size}")
    with conn:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            found = find_ledger(cur, ledger)
            heads = _read_heads(cur, found)
            keys = ledger_public_keys(cur, found.id)
        auditor = _Auditor(found, heads, keys)
        # A named cursor streams rows from the server instead of loading them all.
        with conn.cursor(name="audit_entries") as entries:
            entries.itersize = chunk_size
            entries.execute(
                "SELECT leaf_index, entry_name, uid, author, message, submitted_at, record,"
                " leaf_hash FROM entries WHERE ledger_id = %s AND state = 'sealed'"
                " ORDER BY leaf_index",
                (found.id,),
            )
            while rows := entries.fetchmany(chunk_size):
                with conn.cursor() as cur:
                    auditor.check_chunk(cur, rows)
                if progress is not None:
                    progress(auditor.report.entries_checked)
        with conn.cursor() as cur:
            auditor.finish(cur)
    return auditor.report


def _read_heads(cur: Cursor, ledger: Ledger) -> list[TreeHead]:
    cur.execute(
        f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s ORDER BY tree_size",
        (ledger.id,),
    )
    return [head_from_row(ledger, row) for row in cur.fetchall()]


def _leaf_range(level: int, index: int) -> str:
    return f"leaves [{index << level}, {(index + 1) << level})"


class _Auditor:
    """Incremental recomputation state: the frontier and the damage seen so far."""

    def __init__(
        self, ledger: Ledger, heads: list[TreeHead], keys: dict[bytes, Ed25519PublicKey]
    ) -> None:
        self.ledger = ledger
        self.report = AuditReport(ledger=ledger.full_name)
        self.heads = heads
        self.next_head = 0
        self.keys = keys
        self.size = 0
        self.next_index = 0
        self.frontier: list[bytes] = []
        # Perfect subtrees, as (level, index), whose recomputed hash is known to
        # differ from what is stored or signed: their ancestors differ as a consequence.
        self.damaged: set[tuple[int, int]] = set()
        self.first_damaged_leaf: int | None = None
        self._check_heads_at(0)

    def _add(self, mismatch: Mismatch) -> None:
        self.report.mismatches.append(mismatch)

    def check_chunk(self, cur: Cursor, rows: Sequence[tuple[Any, ...]]) -> None:
        leaves = [self._check_entry(self.size + offset, row) for offset, row in enumerate(rows)]
        # Feed the leaves in pieces that end at signed sizes, to compare each root.
        position = 0
        while position < len(leaves):
            stop = len(leaves)
            if self.next_head < len(self.heads):
                stop = min(stop, position + self.heads[self.next_head].tree_size - self.size)
            piece = leaves[position:stop]
            completed, self.frontier = new_perfect_nodes(self.size, self.frontier, piece)
            self.size += len(piece)
            self._compare_nodes(cur, completed)
            self._check_heads_at(self.size)
            position = stop
        self.report.entries_checked = self.size

    def _check_entry(self, position: int, row: tuple[Any, ...]) -> bytes:
        """Check the sealed entry that becomes leaf `position` of the recomputed
        tree; return its leaf hash as recomputed from its fields."""
        index, entry_name, uid, author, message, submitted_at, record, stored_leaf = row
        stored_record = bytes(record)
        stored_hash = bytes(stored_leaf)
        where = f"entry {entry_name!r} (uid {uid}, leaf index {index})"

        def found(kind: MismatchKind, description: str) -> None:
            self._add(Mismatch(kind, description, entry_name=entry_name, uid=uid, leaf_index=index))

        damaged = False
        if index != self.next_index:
            found(
                MismatchKind.LEAF_GAP,
                f"leaf indexes {self.next_index} to {index - 1} are missing before {where}"
                if index > self.next_index
                else f"leaf index {index} is out of order at {where}",
            )
            damaged = True
        self.next_index = index + 1
        try:
            rebuilt = entry_record(
                ledger=self.ledger.full_name,
                entry=entry_name,
                uid=uid,
                author=str(author),
                message=str(message),
                submitted_at=str(submitted_at),
            )
        except RecordError as exc:
            found(
                MismatchKind.RECORD,
                f"{where}: its stored fields no longer form a valid record ({exc})",
            )
            rebuilt = stored_record
            damaged = True
        if rebuilt != stored_record:
            found(
                MismatchKind.RECORD,
                f"{where}: its stored author, message or other fields do not match "
                "the record that was hashed",
            )
            damaged = True
        recomputed = leaf_hash(rebuilt)
        if leaf_hash(stored_record) != stored_hash:
            found(
                MismatchKind.LEAF_HASH,
                f"{where}: the stored leaf hash {stored_hash.hex()} is not the hash of "
                "its stored record",
            )
            damaged = True
        if damaged:
            self.damaged.add((0, position))
            if self.first_damaged_leaf is None:
                self.first_damaged_leaf = position
        return recomputed

    def _compare_nodes(self, cur: Cursor, completed: list[tuple[int, int, bytes]]) -> None:
        wanted = [(level, index, node) for level, index, node in completed if level > 0]
        if not wanted:
            return
        cur.execute(
            "SELECT n.hash FROM unnest(%s::smallint[], %s::bigint[]) WITH ORDINALITY"
            "   AS wanted (level, node_index, ord)"
            " LEFT JOIN tree_nodes n ON n.ledger_id = %s AND n.level = wanted.level"
            "   AND n.node_index = wanted.node_index"
            " ORDER BY wanted.ord",
            ([w[0] for w in wanted], [w[1] for w in wanted], self.ledger.id),
        )
        for (stored,), (level, index, node) in zip(cur.fetchall(), wanted, strict=True):
            self.report.nodes_checked += 1
            children_damaged = (level - 1, 2 * index) in self.damaged or (
                level - 1,
                2 * index + 1,
            ) in self.damaged
            if children_damaged:
                self.damaged.add((level, index))
                continue
            if stored is None:
                self._add(
                    Mismatch(
                        MismatchKind.NODE_MISSING,
                        f"the tree node at level {level}, index {index} "
                        f"({_leaf_range(level, index)}) is missing",
                        leaf_index=index << level,
                    )
                )
            elif bytes(stored) != node:
                self._add(
                    Mismatch(
                        MismatchKind.NODE,
                        f"the stored tree node at level {level}, index {index} "
                        f"({_leaf_range(level, index)}) differs from the one recomputed "
                        "from its entries",
                        leaf_index=index << level,
                    )
                )
            else:
                continue
            self.damaged.add((level, index))
            if self.first_damaged_leaf is None:
                self.first_damaged_leaf = index << level

    def _check_heads_at(self, size: int) -> None:
        while self.next_head < len(self.heads) and self.heads[self.next_head].tree_size == size:
            head = self.heads[self.next_head]
            self.next_head += 1
            self.report.heads_checked += 1
            self._check_signature(head)
            root = root_from_frontier(self.frontier)
            if head.root_hash != root:
                cause = (
                    f"; it follows from the damage at leaf {self.first_damaged_leaf}"
                    if self.first_damaged_leaf is not None and self.first_damaged_leaf < size
                    else ""
                )
                self._add(
                    Mismatch(
                        MismatchKind.HEAD_ROOT,
                        f"the signed tree head at size {size} has root {head.root_hash.hex()}, "
                        f"but the stored entries give {root.hex()}{cause}",
                        tree_size=size,
                    )
                )

    def _check_signature(self, head: TreeHead) -> None:
        key = self.keys.get(bytes.fromhex(head.key_id))
        try:
            if key is None:
                raise SignatureError(f"its key {head.key_id} is not registered for the ledger")
            if isinstance(head, SignedCheckpoint) and head.origin != self.ledger.origin:
                raise SignatureError(
                    f"its origin {head.origin!r} is not the ledger's {self.ledger.origin!r}"
                )
            verify_head(head, key)
        except (SignatureError, TreeHeadFormatError, CheckpointFormatError) as exc:
            self._add(
                Mismatch(
                    MismatchKind.HEAD_SIGNATURE,
                    f"the signed tree head at size {head.tree_size} does not verify: {exc}",
                    tree_size=head.tree_size,
                )
            )

    def finish(self, cur: Cursor) -> None:
        self.report.root_hash = root_from_frontier(self.frontier)
        for head in self.heads[self.next_head :]:
            self.report.heads_checked += 1
            self._check_signature(head)
            self._add(
                Mismatch(
                    MismatchKind.HEAD_BEYOND,
                    f"the signed tree head at size {head.tree_size} claims more leaves than "
                    f"the {self.size} sealed entries",
                    tree_size=head.tree_size,
                )
            )
        signed = self.heads[-1].tree_size if self.heads else 0
        if self.size > signed:
            self._add(
                Mismatch(
                    MismatchKind.UNSIGNED,
                    f"{self.size - signed} sealed entries (leaf indexes {signed} to "
                    f"{self.size - 1}) are not covered by any signed tree head",
                    leaf_index=signed,
                    tree_size=self.size,
                )
            )
        self._check_extra_nodes(cur)
        self._check_consistency(cur)

    def _check_extra_nodes(self, cur: Cursor) -> None:
        cur.execute(
            "SELECT level, node_index FROM tree_nodes"
            " WHERE ledger_id = %s AND (node_index + 1) * (1::bigint << level) > %s"
            " ORDER BY level, node_index",
            (self.ledger.id, self.size),
        )
        for level, index in cur.fetchall():
            self._add(
                Mismatch(
                    MismatchKind.NODE_EXTRA,
                    f"the tree node at level {level}, index {index} ({_leaf_range(level, index)}) "
                    f"lies beyond the {self.size} sealed entries",
                    leaf_index=index << level,
                )
            )

    def _check_consistency(self, cur: Cursor) -> None:
        """Each pair of successive non-empty heads must be proven consistent by the
        proof the store serves, as a client checking both heads would see."""
        within = [head for head in self.heads if 0 < head.tree_size <= self.size]
        for old, new in pairwise(within):
            try:
                proof = range_hashes(
                    cur, self.ledger.id, consistency_ranges(old.tree_size, new.tree_size)
                )
                verify_consistency(
                    size1=old.tree_size,
                    size2=new.tree_size,
                    proof=proof,
                    root1=old.root_hash,
                    root2=new.root_hash,
                )
            except (ProofError, ProofFormatError, MissingNodeError) as exc:
                self._add(
                    Mismatch(
                        MismatchKind.CONSISTENCY,
                        f"the signed tree heads at sizes {old.tree_size} and {new.tree_size} "
                        f"are not consistent: {exc}",
                        tree_size=new.tree_size,
                    )
                )
