"""Verification of RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.

Malformed input — negative or out-of-range sizes, an index outside the tree, a
leaf hash or proof element that is not 32 bytes, a proof longer than
``MAX_PROOF_LENGTH`` — raises :class:`ProofFormatError`. A well-formed proof
that does not prove the claim raises :class:`ProofError` saying what was
expected and what was found. Roots are only ever compared, never parsed: a root
of the wrong length simply does not match (as in the published RFC 6962 vectors).
"""

from __future__ import annotations

from collections.abc import Sequence

from guestbook_ledger.format.errors import ProofError, ProofFormatError
from guestbook_ledger.format.hashing import HASH_SIZE, node_hash
from guestbook_ledger.format.limits import MAX_PROOF_LENGTH, check_tree_number


def _check_hashes(proof: Sequence[bytes]) -> None:
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofFormatError(f"a proof has at most {MAX_PROOF_LENGTH} hashes; got {len(proof)}")
    for position, element in enumerate(proof):
        if len(element) != HASH_SIZE:
            raise ProofFormatError(
                f"proof element {position} must be {HASH_SIZE} bytes; got {len(element)}"
            )


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split the inclusion path of ``index`` in a tree of ``size`` into its
    ``inner`` part (levels where the path and the tree's right border differ)
    and its ``border`` part (left siblings along the right border)."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        seed = node_hash(sibling, seed) if index >> level & 1 else node_hash(seed, sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like ``_chain_inner`` but only through left siblings: the old tree's view."""
    for level, sibling in enumerate(proof):
        if index >> level & 1:
            seed = node_hash(sibling, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = node_hash(sibling, seed)
    return seed


def _short(value: bytes) -> str:
    return value.hex() if value else "(empty)"


def root_from_inclusion_proof(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root that ``proof`` yields for ``leaf_hash`` at ``index`` in a
    tree of ``size`` leaves.

    Requires 0 ≤ index < size ≤ MAX_TREE_SIZE and 32-byte hashes (else
    :class:`ProofFormatError`); raises :class:`ProofError` when the proof has
    the wrong number of hashes for that index and size.
    """
    check_tree_number(size, "tree size", minimum=1)
    check_tree_number(index, "leaf index")
    if index >= size:
        raise ProofFormatError(f"leaf index must be less than the tree size {size}; got {index}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofFormatError(f"leaf hash must be {HASH_SIZE} bytes; got {len(leaf_hash)}")
    _check_hashes(proof)
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(
            f"an inclusion proof for leaf {index} in a tree of {size} has "
            f"{inner + border} hashes; got {len(proof)}"
        )
    result = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(result, proof[inner:])


def verify_inclusion(
    *, leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` shows ``leaf_hash`` is leaf ``index`` of the tree of
    ``size`` leaves with root ``root``; return None if so.

    Raises :class:`ProofFormatError` for malformed input (see
    :func:`root_from_inclusion_proof`) and :class:`ProofError` when the proof
    has the wrong length or yields a different root.
    """
    computed = root_from_inclusion_proof(leaf_hash=leaf_hash, index=index, size=size, proof=proof)
    if computed != root:
        raise ProofError(
            f"the proof yields root {computed.hex()}, not the expected root {_short(root)}"
        )


def verify_consistency(
    *, size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that ``proof`` shows the tree of ``size1`` leaves with root ``root1``
    is a prefix of the tree of ``size2`` leaves with root ``root2``; return None
    if so.

    Requires 1 ≤ size1 ≤ size2 ≤ MAX_TREE_SIZE (RFC 9162 defines no proof from
    the empty tree) and 32-byte proof hashes, else raises
    :class:`ProofFormatError`. Equal sizes need an empty proof and equal roots.
    Raises :class:`ProofError` when the proof has the wrong length or yields a
    different root.
    """
    check_tree_number(size2, "size2", minimum=1)
    check_tree_number(size1, "size1", minimum=1)
    if size1 > size2:
        raise ProofFormatError(f"size1 must not exceed size2 ({size2}); got {size1}")
    _check_hashes(proof)
    if size1 == size2:
        if proof:
            raise ProofError(
                f"a consistency proof between equal sizes is empty; got {len(proof)} hashes"
            )
        if root1 != root2:
            raise ProofError(
                f"trees of equal size {size1} must have equal roots; "
                f"got {_short(root1)} and {_short(root2)}"
            )
        return
    # The proof is the tail of the inclusion path of leaf size1 - 1 in the new
    # tree, from the level of the old tree's smallest perfect subtree upward.
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    inner -= shift
    if size1 == 1 << shift:
        # The old tree is itself perfect: its root seeds the path.
        seed, start = root1, 0
    else:
        if not proof:
            raise ProofError(
                f"a consistency proof from size {size1} to {size2} has "
                f"{1 + inner + border} hashes; got 0"
            )
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise ProofError(
            f"a consistency proof from size {size1} to {size2} has "
            f"{start + inner + border} hashes; got {len(proof)}"
        )
    path = proof[start:]
    mask = (size1 - 1) >> shift
    computed1 = _chain_border_right(_chain_inner_right(seed, path[:inner], mask), path[inner:])
    if computed1 != root1:
        raise ProofError(
            f"the proof yields root1 {computed1.hex()}, not the expected root1 {_short(root1)}"
        )
    computed2 = _chain_border_right(_chain_inner(seed, path[:inner], mask), path[inner:])
    if computed2 != root2:
        raise ProofError(
            f"the proof yields root2 {computed2.hex()}, not the expected root2 {_short(root2)}"
        )
