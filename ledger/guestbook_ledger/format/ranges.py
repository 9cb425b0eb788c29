"""The proof plan: which leaf ranges a proof is made of, and which stored nodes
make up a range — pure arithmetic shared by the in-memory tree and the database.

A *stored node* is a perfect, aligned subtree ``(level, index)`` covering leaves
``[index·2^level, (index+1)·2^level)``; level 0 is the leaves themselves. Every
range that RFC 9162 ever hashes (a subtree of the tree, or a proof element) is
*aligned*: it starts at a multiple of the smallest power of two not below its
length. Its hash is the right fold of the perfect subtrees of the binary
decomposition of its length. Of the ranges in one proof at most two are not
themselves perfect, so a proof needs O(log n) stored-node reads, and appending
needs only the *frontier*: the perfect subtrees of ``[0, size)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from guestbook_ledger.format.errors import ProofFormatError
from guestbook_ledger.format.hashing import EMPTY_ROOT, HASH_SIZE, node_hash
from guestbook_ledger.format.limits import MAX_TREE_SIZE, check_tree_number


def _split(size: int) -> int:
    """Largest power of two strictly below ``size`` (RFC 9162's k). Requires size ≥ 2."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_subtrees(begin: int, end: int) -> list[tuple[int, int]]:
    """Decompose the leaf range ``[begin, end)`` into maximal perfect subtrees,
    left to right, as ``(level, index)`` pairs — largest first.

    Requires 0 ≤ begin ≤ end and ``begin`` aligned: a multiple of the smallest
    power of two ≥ ``end - begin`` (true of every range an RFC 9162 tree or proof
    hashes, and of every ``[0, size)``). Raises ``ValueError`` otherwise.
    """
    if not 0 <= begin <= end:
        raise ValueError(f"range [{begin}, {end}) must satisfy 0 <= begin <= end")
    length = end - begin
    if length and begin % (1 << (length - 1).bit_length()):
        raise ValueError(
            f"range [{begin}, {end}) is not aligned: begin must be a multiple of "
            f"{1 << (length - 1).bit_length()}"
        )
    nodes = []
    position = begin
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            nodes.append((level, position >> level))
            position += 1 << level
    return nodes


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash of an aligned range from the hashes of its
    ``perfect_subtrees`` (left to right): node(h1, node(h2, … node(hk-1, hk))).

    The empty range folds to ``EMPTY_ROOT``.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    """Return the root of the tree whose frontier (hashes of
    ``perfect_subtrees(0, size)``) is ``frontier``; ``EMPTY_ROOT`` for size 0."""
    return fold_range(frontier)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Return the leaf ranges ``[begin, end)`` whose Merkle Tree Hashes form the
    inclusion proof of leaf ``index`` in a tree of ``size`` leaves, in RFC 9162
    §2.1.3.1 order (the sibling nearest the leaf first).

    Requires 0 ≤ index < size ≤ MAX_TREE_SIZE; raises :class:`ProofFormatError`
    otherwise.
    """
    check_tree_number(size, "tree size", minimum=1)
    check_tree_number(index, "leaf index")
    if index >= size:
        raise ProofFormatError(f"leaf index must be less than the tree size {size}; got {index}")
    ranges = []
    begin, end = 0, size
    while end - begin > 1:
        middle = begin + _split(end - begin)
        if index < middle:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((begin, middle))
            begin = middle
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """Return the leaf ranges ``[begin, end)`` whose Merkle Tree Hashes form the
    consistency proof between trees of ``size1`` and ``size2`` leaves, in
    RFC 9162 §2.1.4.1 order; empty when the sizes are equal.

    Requires 1 ≤ size1 ≤ size2 ≤ MAX_TREE_SIZE (RFC 9162 defines no proof from
    the empty tree, which every tree trivially extends); raises
    :class:`ProofFormatError` otherwise.
    """
    check_tree_number(size2, "size2", minimum=1)
    check_tree_number(size1, "size1", minimum=1)
    if size1 > size2:
        raise ProofFormatError(f"size1 must not exceed size2 ({size2}); got {size1}")
    ranges = []
    begin, end = 0, size2
    remaining = size1  # leaves of the old tree inside [begin, end)
    whole_old_tree = True  # RFC 9162's b: [begin, end) starts at the old tree's root
    while remaining != end - begin:
        middle = begin + _split(end - begin)
        if remaining <= middle - begin:
            ranges.append((middle, end))
            end = middle
        else:
            ranges.append((begin, middle))
            remaining -= middle - begin
            begin = middle
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((begin, end))
    ranges.reverse()
    return ranges


def new_perfect_nodes(
    size: int, frontier: Sequence[bytes], new_leaves: Sequence[bytes]
) -> tuple[list[tuple[int, int, bytes]], list[bytes]]:
    """Append ``new_leaves`` (leaf hashes) to a tree of ``size`` leaves.

    ``frontier`` holds the hashes of ``perfect_subtrees(0, size)`` in order.
    Returns every perfect node the append completes, as ``(level, index, hash)``
    in completion order (each new leaf at level 0, then the nodes it closes), and
    the frontier of the grown tree. Costs O(len(new_leaves) + log size) hashes.

    Raises ``ValueError`` when the frontier does not have one 32-byte hash per
    set bit of ``size``, a leaf is not 32 bytes, or the tree would exceed
    ``MAX_TREE_SIZE``.
    """
    check_tree_number(size, "tree size")
    if size + len(new_leaves) > MAX_TREE_SIZE:
        raise ProofFormatError(
            f"a tree holds at most {MAX_TREE_SIZE} leaves; {size} + {len(new_leaves)} is too many"
        )
    shape = perfect_subtrees(0, size)
    if len(frontier) != len(shape):
        raise ValueError(
            f"a tree of {size} leaves has a frontier of {len(shape)} hashes; got {len(frontier)}"
        )
    if any(len(h) != HASH_SIZE for h in frontier):
        raise ValueError(f"every frontier hash must be {HASH_SIZE} bytes")
    # Stack of (level, hash), levels strictly decreasing from bottom to top.
    stack = [(level, h) for (level, _), h in zip(shape, frontier, strict=True)]
    completed: list[tuple[int, int, bytes]] = []
    position = size
    for leaf in new_leaves:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash {position} must be {HASH_SIZE} bytes; got {len(leaf)}")
        completed.append((0, position, leaf))
        level, current = 0, leaf
        position += 1
        while stack and stack[-1][0] == level:
            current = node_hash(stack.pop()[1], current)
            level += 1
            completed.append((level, (position >> level) - 1, current))
        stack.append((level, current))
    return completed, [h for _, h in stack]
