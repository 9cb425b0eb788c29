"""The root of a large tree computed in memory: ours against the `merkle` and
`pymerkle` packages, measured in the same run (docs/decisions/0002)."""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable

from guestbook_ledger.format.hashing import NODE_PREFIX, leaf_hash
from guestbook_ledger.format.tree import root_hash


def _seconds(action: Callable[[], object], repeat: int = 1) -> float:
    """Best wall-clock time of ``repeat`` runs of ``action`` (collecting garbage
    beforehand so one run's leftovers do not slow the next)."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _sha256_calls(leaves: list[bytes]) -> float:
    inputs = [NODE_PREFIX + leaf + leaf for leaf in leaves[1:]]
    sha256 = hashlib.sha256
    return _seconds(lambda: [sha256(data).digest() for data in inputs])


def _merkle_root(leaves: list[bytes]) -> tuple[float, bytes]:
    """The `merkle` package: wrapping the leaves in its nodes, then building."""
    import merkle

    roots: list[bytes] = []

    def run() -> None:
        tree = merkle.MerkleTree(leaves, prehashed=True, raw_digests=True)
        roots.append(tree.build())

    return _seconds(run), roots[0]


def _pymerkle_root(records: list[bytes]) -> tuple[float, bytes]:
    """`pymerkle`'s in-memory tree: appending the records (it hashes the leaves
    itself, with the 0x00 prefix), then asking for the root."""
    import pymerkle

    roots: list[bytes] = []

    def run() -> None:
        tree = pymerkle.InmemoryTree(algorithm="sha256")
        tree.append_entries(records)
        roots.append(tree.get_root())

    return _seconds(run), roots[0]


def bench_root(n: int, *, pymerkle_leaves: int | None = None) -> dict[str, float]:
    """Time the root of ``n`` leaves three ways, from the same records.

    Returns seconds for:

    - ``guestbook_ledger_s``: :func:`root_hash` over precomputed leaf hashes
      (best of 3);
    - ``leaf_hashing_s``: hashing the ``n`` records into leaf hashes (ours);
    - ``sha256_calls_s``: ``n - 1`` one-shot ``hashlib.sha256(65 bytes)``
      calls, what a plain "concatenate and hash" loop pays for the node hashes
      alone (ours copies a hasher that already holds the prefix, which is cheaper);
    - ``merkle_s``: the `merkle` package (0.1.x) building its tree over the same
      leaf hashes (``raw_digests=True``); its root differs from ours because
      it has no node prefix (``merkle_root_matches`` = 0.0);
    - ``pymerkle_s``: `pymerkle`'s ``InmemoryTree`` appending the records and
      computing the root. It is measured on ``pymerkle_leaves`` records
      (default ``n``) and scaled linearly to ``n`` when fewer
      (``pymerkle_measured_leaves`` says how many were measured);
      ``pymerkle_root_matches`` is 1.0 when its root equals ours for those records.

    Requires n ≥ 2. Takes about ten seconds and a few hundred MB for n = 10⁶.
    """
    if n < 2:
        raise ValueError(f"the benchmark needs at least 2 leaves; got {n}")
    measured = n if pymerkle_leaves is None else max(2, min(n, pymerkle_leaves))
    records = [b'{"entry":"bench-%d","v":1}' % i for i in range(n)]

    start = time.perf_counter()
    leaves = [leaf_hash(record) for record in records]
    leaf_hashing = time.perf_counter() - start

    ours = _seconds(lambda: root_hash(leaves), repeat=3)
    our_root = root_hash(leaves)

    sha256_calls = _sha256_calls(leaves)
    merkle_seconds, merkle_root = _merkle_root(leaves)
    pymerkle_seconds, pymerkle_root = _pymerkle_root(records[:measured])
    ours_for_measured = our_root if measured == n else root_hash(leaves[:measured])

    return {
        "leaves": float(n),
        "guestbook_ledger_s": ours,
        "leaf_hashing_s": leaf_hashing,
        "sha256_calls_s": sha256_calls,
        "merkle_s": merkle_seconds,
        "merkle_root_matches": float(merkle_root == our_root),
        "pymerkle_s": pymerkle_seconds * n / measured,
        "pymerkle_measured_leaves": float(measured),
        "pymerkle_root_matches": float(pymerkle_root == ours_for_measured),
    }
