"""Appends and proofs against a ledger stored in PostgreSQL, at growing sizes.

The ledger is grown to each size quickly: real entry records and leaf hashes,
the perfect nodes computed by the same pure functions the store uses, loaded
with COPY, and a signed head at the new size — exactly what sealing would have
stored, without 1,000 round trips per 1,000 entries. Then, at each size:

- append: admit 1,000 entries, let one worker claim (hash) them, and time
  `seal_batch` appending them — the serial step, under the ledger lock, with
  the database's commit (fsync on unless the server says otherwise); the
  admission and the claim are timed too, for context;
- proofs: time `inclusion_proof` and `consistency_proof` for random leaves.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import sign_checkpoint
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.names import rfc3339_utc
from guestbook_ledger.format.ranges import (
    new_perfect_nodes,
    perfect_subtrees,
    root_from_frontier,
)
from guestbook_ledger.store.admission import NewEntry, admit_entries, new_entry_record
from guestbook_ledger.store.audit import DEFAULT_CHUNK, audit_ledger
from guestbook_ledger.store.heads import insert_head, read_latest_head
from guestbook_ledger.store.ledgers import Ledger, ensure_ledger, find_ledger
from guestbook_ledger.store.nodes import read_nodes
from guestbook_ledger.store.proofs import consistency_proof, inclusion_proof
from guestbook_ledger.store.schema import Connection
from guestbook_ledger.store.sealing import claim_pending, seal_batch

BENCH_LEDGER = "bench/ledger"
_SUBMITTED_AT = "2026-11-25T11:26:32Z"
_LOAD_CHUNK = 50_000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StoredFigures:
    """Milliseconds measured at one ledger size (medians and spread of repeats)."""

    leaves: int
    admit_ms: float
    claim_ms: float
    append_ms: float
    append_min_ms: float
    append_max_ms: float
    inclusion_ms: float
    inclusion_p95_ms: float
    consistency_ms: float
    consistency_p95_ms: float


def _fields(i: int) -> NewEntry:
    return NewEntry(
        entry=f"entry-{i}",
        uid=f"00000000-0000-4000-8000-{i:012d}",
        author=f"Bench author {i % 97}",
        message=f"Benchmark message number {i}, signed in the guestbook.",
        submitted_at=_SUBMITTED_AT,
    )


def _bytea(value: bytes) -> str:
    # COPY text format: a backslash is written doubled, so the bytea hex form is \\x...
    return "\\\\x" + value.hex()


def grow_ledger(
    conn: Connection, signer: Ed25519PrivateKey, target: int, progress: Progress
) -> None:
    """Grow the bench ledger to `target` sealed leaves by bulk loading.

    Preconditions: the ledger exists with `signer`'s key registered, and has no
    pending entries. Loads entries and nodes with COPY (triggers and foreign
    keys skipped for the load, which needs a superuser), then signs a checkpoint.
    """
    with conn, conn.cursor() as cur:
        ledger = find_ledger(cur, BENCH_LEDGER)
        head = read_latest_head(cur, ledger)
        size = 0 if head is None else head.tree_size
        frontier = read_nodes(cur, ledger.id, perfect_subtrees(0, size))
    if size >= target:
        return
    while size < target:
        stop = min(target, size + _LOAD_CHUNK)
        size, frontier = _load_chunk(conn, ledger, size, stop, frontier)
        progress(f"loaded {size:,} of {target:,} leaves")
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE ledgers SET next_seq = %s WHERE id = %s", (size, ledger.id))
        insert_head(
            cur,
            ledger,
            sign_checkpoint(
                signer,
                ledger=ledger.full_name,
                origin=ledger.origin,
                tree_size=size,
                root_hash=root_from_frontier(frontier),
                timestamp=rfc3339_utc(),
            ),
        )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE entries")
            cur.execute("VACUUM ANALYZE tree_nodes")
    finally:
        conn.autocommit = False


def _load_chunk(
    conn: Connection, ledger: Ledger, start: int, stop: int, frontier: list[bytes]
) -> tuple[int, list[bytes]]:
    entries = io.StringIO()
    leaves = []
    for i in range(start, stop):
        fields = _fields(i)
        record = new_entry_record(ledger.full_name, fields)
        leaf = leaf_hash(record)
        leaves.append(leaf)
        entries.write(
            f"{ledger.id}\t{i}\t{fields.uid}\t{fields.entry}\t{fields.author}\t"
            f"{fields.message}\t{fields.submitted_at}\t{_bytea(record)}\tsealed\t"
            f"{_bytea(leaf)}\t{i}\t2026-11-25 11:26:33+00\t2026-11-25 11:26:34+00\n"
        )
    completed, frontier = new_perfect_nodes(start, frontier, leaves)
    nodes = io.StringIO()
    for level, index, node in completed:
        if level > 0:
            nodes.write(f"{ledger.id}\t{level}\t{index}\t{_bytea(node)}\n")
    entries.seek(0)
    nodes.seek(0)
    with conn, conn.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.copy_expert(
            "COPY entries (ledger_id, seq, uid, entry_name, author, message, submitted_at,"
            " record, state, leaf_hash, leaf_index, admitted_at, sealed_at) FROM STDIN",
            entries,
        )
        cur.copy_expert("COPY tree_nodes (ledger_id, level, node_index, hash) FROM STDIN", nodes)
    return stop, frontier


def _claim_all(conn: Connection, batch: int) -> None:
    """What one worker does: claim and hash until nothing is left."""
    while claim_pending(conn, BENCH_LEDGER, limit=batch):
        pass


def _milliseconds(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure_at_size(
    conn: Connection,
    signer: Ed25519PrivateKey,
    *,
    batch: int,
    appends: int,
    proofs: int,
    rng: random.Random,
) -> StoredFigures:
    """Measure appends of `batch` entries (`appends` times) and `proofs` proofs
    of each kind at the bench ledger's current size."""
    with conn, conn.cursor() as cur:
        ledger = find_ledger(cur, BENCH_LEDGER)
        head = read_latest_head(cur, ledger)
    assert head is not None
    leaves = head.tree_size
    admit_times, claim_times, append_times = [], [], []
    next_entry = leaves
    for _ in range(appends):
        fields = [_fields(i) for i in range(next_entry, next_entry + batch)]
        next_entry += batch
        admit_times.append(_milliseconds(partial(admit_entries, conn, BENCH_LEDGER, fields)))
        claim_times.append(_milliseconds(partial(_claim_all, conn, batch)))
        append_times.append(
            _milliseconds(lambda: seal_batch(conn, BENCH_LEDGER, signer, max_entries=batch))
        )
    size = next_entry
    inclusion = [
        _milliseconds(lambda: inclusion_proof(conn, BENCH_LEDGER, rng.randrange(size), size))
        for _ in range(proofs)
    ]
    consistency = [
        _milliseconds(
            lambda: consistency_proof(conn, BENCH_LEDGER, rng.randrange(1, size + 1), size)
        )
        for _ in range(proofs)
    ]
    return StoredFigures(
        leaves=leaves,
        admit_ms=statistics.median(admit_times),
        claim_ms=statistics.median(claim_times),
        append_ms=statistics.median(append_times),
        append_min_ms=min(append_times),
        append_max_ms=max(append_times),
        inclusion_ms=statistics.median(inclusion),
        inclusion_p95_ms=_p95(inclusion),
        consistency_ms=statistics.median(consistency),
        consistency_p95_ms=_p95(consistency),
    )


@dataclass(frozen=True)
class AuditFigures:
    """One full audit of the bench ledger: its size, duration and findings."""

    leaves: int
    seconds: float
    mismatches: int


def bench_audit(conn: Connection, progress: Progress) -> AuditFigures:
    """Time one full audit of the bench ledger (every leaf recomputed)."""
    step = 100_000

    def report(checked: int) -> None:
        if checked % step < DEFAULT_CHUNK:
            progress(f"audited {checked:,} entries")

    start = time.perf_counter()
    result = audit_ledger(conn, BENCH_LEDGER, progress=report)
    seconds = time.perf_counter() - start
    return AuditFigures(
        leaves=result.entries_checked, seconds=seconds, mismatches=len(result.mismatches)
    )


def bench_stored(
    conn: Connection,
    sizes: list[int],
    *,
    progress: Progress,
    batch: int = 1000,
    appends: int = 5,
    proofs: int = 200,
    seed: int = 9162,
) -> list[StoredFigures]:
    """Grow one ledger through `sizes` (ascending) and measure at each.

    Preconditions: `conn` is a superuser connection to a migrated database
    without a ledger named bench/ledger (the bulk load bypasses triggers).
    Each measurement adds `appends`·`batch` entries, so sizes must be at least
    that far apart.
    """
    signer = Ed25519PrivateKey.generate()
    ensure_ledger(conn, BENCH_LEDGER, public_key=signer.public_key())
    rng = random.Random(seed)
    figures = []
    for target in sizes:
        grow_ledger(conn, signer, target, progress)
        progress(f"measuring at {target:,} leaves")
        figures.append(
            measure_at_size(conn, signer, batch=batch, appends=appends, proofs=proofs, rng=rng)
        )
    return figures
