"""Read-only access to the ledger database: tree heads, checkpoints, tiles, proofs,
signing keys.

psycopg2 is synchronous, so each read runs in a worker thread on a connection
from a small pool; sessions are read-only, so the web UI can never change the
ledger even when its database role could.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg2
import psycopg2.errors
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from guestbook_ledger.format.checkpoint import SignedCheckpoint, TreeHead, verifier_key
from guestbook_ledger.format.sth import public_key_to_pem
from guestbook_ledger.format.tiles import TilePath
from guestbook_ledger.store import (
    DatabaseUnavailableError,
    StoredEntry,
    consistency_proof,
    entry_by_uid,
    inclusion_proof,
    latest_checkpoint,
    latest_tree_head,
    read_entry_records,
    read_tile,
    root_hash_at,
    tree_head_at,
)
from guestbook_ledger.store.history import HistoricHead, head_history
from guestbook_ledger.store.ledgers import find_ledger, ledger_public_keys
from guestbook_ledger.store.schema import Connection, connect
from guestbook_ledger.store.witnesses import (
    PublishedCheckpoint,
    WitnessPolicy,
    published_checkpoint,
    witness_policy,
)
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


@dataclass(frozen=True)
class EntryProof:
    """What a proof file of one entry is made of: the stored entry, the published
    checkpoint (None before one is published), and the entry's inclusion proof in
    that checkpoint's tree (empty when the entry is not in it)."""

    entry: StoredEntry | None
    published: PublishedCheckpoint | None
    proof: list[bytes]


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    pem: str


@dataclass(frozen=True)
class Verifiers:
    """What verifies a ledger's checkpoints: its origin, its note verifier keys
    (one per registered signing key) and its newest witness policy, if any."""

    origin: str
    verifier_keys: tuple[str, ...]
    policy: WitnessPolicy | None


class LedgerReader:
    """Reads one ledger (``<namespace>/<name>``) from the database at ``dsn``.

    Every method raises DatabaseUnavailableError when the database cannot be
    reached, and the store's errors (UnknownLedgerError, TreeSizeError, ...,
    all ValueErrors) for requests it cannot answer.
    """

    def __init__(self, dsn: str, ledger: str, *, max_connections: int = 4) -> None:
        self._dsn = dsn
        self.ledger = ledger
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _acquire(self) -> Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = connect(self._dsn, connect_timeout_seconds=5)
        conn.set_session(readonly=True)
        return conn

    def _run(self, read: Callable[[Connection], T]) -> T:
        with self._slots:
            conn = self._acquire()
            try:
                result = read(conn)
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                conn.close()
                reason = " ".join(str(exc).split()) or "connection lost"
                raise DatabaseUnavailableError(
                    f"The ledger database failed ({reason}); try again shortly."
                ) from None
            except psycopg2.errors.UndefinedTable:
                # The web UI may start before the operator has created the schema.
                conn.close()
                raise DatabaseUnavailableError(
                    "The ledger database has no ledger tables yet: the operator creates "
                    "them when it starts; try again once it runs."
                ) from None
            except BaseException:
                conn.close()
                raise
            with self._lock:
                self._idle.append(conn)
            return result

    async def _call(self, read: Callable[[Connection], T]) -> T:
        return await run_in_threadpool(self._run, read)

    async def latest_tree_head(self) -> TreeHead | None:
        return await self._call(lambda conn: latest_tree_head(conn, self.ledger))

    async def latest_checkpoint(self) -> SignedCheckpoint | None:
        return await self._call(lambda conn: latest_checkpoint(conn, self.ledger))

    async def published_checkpoint(self) -> PublishedCheckpoint | None:
        """The newest checkpoint the witness policy allows, with its cosignatures."""
        return await self._call(lambda conn: published_checkpoint(conn, self.ledger))

    async def tree_head_at(self, size: int) -> TreeHead | None:
        return await self._call(lambda conn: tree_head_at(conn, self.ledger, size))

    async def tile(self, tile: TilePath) -> bytes:
        """The hashes of hash tile ``tile``, concatenated (TileNotFoundError beyond the tree)."""
        return await self._call(lambda conn: read_tile(conn, self.ledger, tile))

    async def entry_records(self, tile: TilePath) -> list[bytes]:
        """The records of entry bundle ``tile`` (TileNotFoundError beyond the tree)."""
        return await self._call(lambda conn: read_entry_records(conn, self.ledger, tile))

    async def inclusion(self, index: int, size: int) -> tuple[list[bytes], bytes]:
        """The inclusion proof of leaf ``index`` in the tree of ``size``, and that root."""

        def read(conn: Connection) -> tuple[list[bytes], bytes]:
            proof = inclusion_proof(conn, self.ledger, index, size)
            return proof, root_hash_at(conn, self.ledger, size)

        return await self._call(read)

    async def consistency(self, size1: int, size2: int) -> tuple[list[bytes], bytes, bytes]:
        """The consistency proof from ``size1`` to ``size2``, and both roots."""

        def read(conn: Connection) -> tuple[list[bytes], bytes, bytes]:
            proof = consistency_proof(conn, self.ledger, size1, size2)
            return (
                proof,
                root_hash_at(conn, self.ledger, size1),
                root_hash_at(conn, self.ledger, size2),
            )

        return await self._call(read)

    async def entry_proof(self, uid: str) -> EntryProof:
        """The entry with ``uid``, the published checkpoint and, when the entry is a
        leaf of that checkpoint's tree, its inclusion proof there (O(log n) reads)."""

        def read(conn: Connection) -> EntryProof:
            entry = entry_by_uid(conn, self.ledger, uid)
            published = published_checkpoint(conn, self.ledger)
            proof: list[bytes] = []
            if (
                entry is not None
                and entry.leaf_index is not None
                and published is not None
                and entry.leaf_index < published.checkpoint.tree_size
            ):
                proof = inclusion_proof(
                    conn, self.ledger, entry.leaf_index, published.checkpoint.tree_size
                )
            return EntryProof(entry, published, proof)

        return await self._call(read)

    async def public_keys(self) -> list[PublicKey]:
        """Every key registered to sign this ledger's tree heads, as PEM."""

        def read(conn: Connection) -> list[PublicKey]:
            with conn, conn.cursor() as cur:
                keys: dict[bytes, Ed25519PublicKey] = ledger_public_keys(
                    cur, find_ledger(cur, self.ledger).id
                )
            return sorted(
                (
                    PublicKey(kid.hex(), public_key_to_pem(key).decode("ascii"))
                    for kid, key in keys.items()
                ),
                key=lambda key: key.key_id,
            )

        return await self._call(read)

    async def history(self, *, below: int | None, limit: int) -> list[HistoricHead]:
        """A page of signed tree heads, largest first, with their cosignatures."""
        return await self._call(
            lambda conn: head_history(conn, self.ledger, below=below, limit=limit)
        )

    async def verifiers(self) -> Verifiers:
        """The ledger's origin, note verifier keys and witness policy."""

        def read(conn: Connection) -> Verifiers:
            with conn, conn.cursor() as cur:
                found = find_ledger(cur, self.ledger)
                keys = ledger_public_keys(cur, found.id)
            texts = sorted(verifier_key(found.origin, key) for key in keys.values())
            return Verifiers(found.origin, tuple(texts), witness_policy(conn, self.ledger))

        return await self._call(read)
