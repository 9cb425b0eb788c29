"""The tree, its proofs and the stored-node proof plan agree with a plain recursive
RFC 9162 §2.1 reference implementation, and every tampering is caught."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import pytest
from guestbook_ledger.format import (
    EMPTY_ROOT,
    ProofError,
    ProofFormatError,
    consistency_proof,
    consistency_ranges,
    fold_range,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    new_perfect_nodes,
    node_hash,
    perfect_subtrees,
    root_from_frontier,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

MAX_SIZE = 3000
PROPERTY = settings(max_examples=60, deadline=None)

# --- the reference: RFC 9162 §2.1 transcribed literally, with its own hashing ---


def ref_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def ref_k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = ref_k(n)
    return ref_node(ref_mth(leaves[:k]), ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(leaves)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) for 0 < m <= n."""
    return ref_subproof(m, leaves, True)


def make_leaves(size: int, seed: int) -> list[bytes]:
    return [ref_leaf(seed.to_bytes(4, "big") + i.to_bytes(4, "big")) for i in range(size)]


def flip_bit(value: bytes, bit: int) -> bytes:
    data = bytearray(value)
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return bytes(data)


sizes = st.integers(min_value=0, max_value=MAX_SIZE)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    return make_leaves(size, draw(seeds)), draw(st.integers(min_value=0, max_value=size - 1))


@st.composite
def tree_and_old_size(draw: st.DrawFn) -> tuple[list[bytes], int]:
    size = draw(st.integers(min_value=1, max_value=MAX_SIZE))
    return make_leaves(size, draw(seeds)), draw(st.integers(min_value=1, max_value=size))


# --- hashing and root ---


def test_hashes_are_domain_separated_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"l" * 32, b"r" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_hash([]) == EMPTY_ROOT


@PROPERTY
@given(size=sizes, seed=seeds)
@example(size=MAX_SIZE, seed=1)
def test_root_matches_reference(size: int, seed: int) -> None:
    leaves = make_leaves(size, seed)
    assert root_hash(leaves) == ref_mth(leaves)


def test_root_matches_reference_around_powers_of_two() -> None:
    leaves = make_leaves(1025, 7)
    for size in (*range(0, 70), 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025):
        assert root_hash(leaves[:size]) == ref_mth(leaves[:size]), size


# --- inclusion ---


BIG = make_leaves(MAX_SIZE, 1)


@PROPERTY
@given(case=tree_and_index())
@example(case=(BIG, 0))
@example(case=(BIG, 2047))
@example(case=(BIG, MAX_SIZE - 1))
def test_inclusion_proof_matches_reference_and_verifies(case: tuple[list[bytes], int]) -> None:
    leaves, index = case
    proof = inclusion_proof(leaves, index)
    assert proof == ref_path(index, leaves)
    root = ref_mth(leaves)
    verify_inclusion(leaf_hash=leaves[index], index=index, size=len(leaves), proof=proof, root=root)
    assert (
        root_from_inclusion_proof(
            leaf_hash=leaves[index], index=index, size=len(leaves), proof=proof
        )
        == root
    )


@PROPERTY
@given(case=tree_and_index(), bit=st.integers(min_value=0, max_value=255), data=st.data())
def test_tampered_inclusion_proofs_are_rejected(
    case: tuple[list[bytes], int], bit: int, data: st.DataObject
) -> None:
    leaves, index = case
    size = len(leaves)
    proof = inclusion_proof(leaves, index)
    root = root_hash(leaves)
    claim = {"leaf_hash": leaves[index], "index": index, "size": size, "proof": proof, "root": root}
    tamperings: list[dict[str, object]] = [
        {"leaf_hash": flip_bit(leaves[index], bit)},
        {"root": flip_bit(root, bit)},
        {"proof": [*proof, root]},
    ]
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tamperings.append(
            {"proof": [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]}
        )
        tamperings.append({"proof": proof[:-1]})
    if size > 1:
        other = data.draw(st.integers(min_value=0, max_value=size - 1).filter(lambda i: i != index))
        tamperings.append({"index": other})
    # Sizes are not tampered with here: a root does not bind the size (a signed tree
    # head does), and e.g. leaf 0 of 3 and of 4 share a proof; the vectors cover sizes.
    for change in tamperings:
        with pytest.raises((ProofError, ProofFormatError)):
            verify_inclusion(**{**claim, **change})  # type: ignore[arg-type]


def test_inclusion_input_errors_say_what_is_wrong() -> None:
    leaves = make_leaves(4, 1)
    with pytest.raises(ProofFormatError, match="less than the tree size 4; got 4"):
        verify_inclusion(leaf_hash=leaves[0], index=4, size=4, proof=[], root=EMPTY_ROOT)
    with pytest.raises(ProofFormatError, match="between 0 and"):
        verify_inclusion(leaf_hash=leaves[0], index=-1, size=4, proof=[], root=EMPTY_ROOT)
    with pytest.raises(ProofFormatError, match="leaf hash must be 32 bytes; got 3"):
        verify_inclusion(leaf_hash=b"abc", index=0, size=4, proof=[], root=EMPTY_ROOT)
    with pytest.raises(ProofFormatError, match="proof element 1 must be 32 bytes; got 31"):
        verify_inclusion(
            leaf_hash=leaves[0], index=0, size=4, proof=[leaves[1], b"x" * 31], root=EMPTY_ROOT
        )
    with pytest.raises(ProofFormatError, match="at most 64 hashes; got 65"):
        verify_inclusion(
            leaf_hash=leaves[0], index=0, size=4, proof=[leaves[1]] * 65, root=EMPTY_ROOT
        )
    with pytest.raises(ProofError, match="has 2 hashes; got 1"):
        verify_inclusion(leaf_hash=leaves[0], index=0, size=4, proof=[leaves[1]], root=EMPTY_ROOT)
    with pytest.raises(ProofError, match="not the expected root e3b0c442"):
        verify_inclusion(
            leaf_hash=leaves[0], index=0, size=4, proof=inclusion_proof(leaves, 0), root=EMPTY_ROOT
        )
    with pytest.raises(ProofFormatError):
        inclusion_proof(leaves, 4)


# --- consistency ---


@PROPERTY
@given(case=tree_and_old_size())
@example(case=(BIG, 1))
@example(case=(BIG, 2048))
@example(case=(BIG, 2049))
@example(case=(BIG, MAX_SIZE - 1))
def test_consistency_proof_matches_reference_and_verifies(case: tuple[list[bytes], int]) -> None:
    leaves, size1 = case
    proof = consistency_proof(leaves, size1)
    assert proof == ref_proof(size1, leaves)
    verify_consistency(
        size1=size1,
        size2=len(leaves),
        proof=proof,
        root1=ref_mth(leaves[:size1]),
        root2=ref_mth(leaves),
    )


@PROPERTY
@given(case=tree_and_old_size(), bit=st.integers(min_value=0, max_value=255), data=st.data())
def test_tampered_consistency_proofs_are_rejected(
    case: tuple[list[bytes], int], bit: int, data: st.DataObject
) -> None:
    leaves, size1 = case
    size2 = len(leaves)
    root1, root2 = root_hash(leaves[:size1]), root_hash(leaves)
    proof = consistency_proof(leaves, size1)
    claim = {"size1": size1, "size2": size2, "proof": proof, "root1": root1, "root2": root2}
    tamperings: list[dict[str, object]] = [
        {"root1": flip_bit(root1, bit)},
        {"root2": flip_bit(root2, bit)},
        {"proof": [*proof, root2]},
        {"proof": [root1, *proof]},
    ]
    if proof:
        position = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        tamperings.append(
            {"proof": [*proof[:position], flip_bit(proof[position], bit), *proof[position + 1 :]]}
        )
        tamperings.append({"proof": proof[1:]})
    if size1 < size2:
        tamperings.append({"root1": root2, "root2": root1})
    for change in tamperings:
        with pytest.raises((ProofError, ProofFormatError)):
            verify_consistency(**{**claim, **change})  # type: ignore[arg-type]


def test_consistency_input_errors_say_what_is_wrong() -> None:
    root = EMPTY_ROOT
    with pytest.raises(ProofFormatError, match="size1 must be between 1 and"):
        verify_consistency(size1=0, size2=3, proof=[], root1=root, root2=root)
    with pytest.raises(ProofFormatError, match="must not exceed size2"):
        verify_consistency(size1=4, size2=3, proof=[], root1=root, root2=root)
    with pytest.raises(ProofError, match="equal sizes is empty"):
        verify_consistency(size1=3, size2=3, proof=[root], root1=root, root2=root)
    with pytest.raises(ProofError, match="equal roots"):
        verify_consistency(size1=3, size2=3, proof=[], root1=root, root2=b"\x00" * 32)
    with pytest.raises(ProofError, match="from size 3 to 5 has 4 hashes; got 0"):
        verify_consistency(size1=3, size2=5, proof=[], root1=root, root2=root)
    with pytest.raises(ProofFormatError):
        consistency_proof(make_leaves(3, 1), 0)
    verify_consistency(size1=3, size2=3, proof=[], root1=root, root2=root)


# --- the proof plan over stored perfect subtrees ---


def subtree_hash(leaves: Sequence[bytes], level: int, index: int) -> bytes:
    return ref_mth(leaves[index << level : (index + 1) << level])


def range_hash_from_stored_nodes(leaves: Sequence[bytes], begin: int, end: int) -> bytes:
    return fold_range([subtree_hash(leaves, lvl, idx) for lvl, idx in perfect_subtrees(begin, end)])


@PROPERTY
@given(size=sizes)
def test_perfect_subtrees_tile_the_range_with_aligned_powers_of_two(size: int) -> None:
    position = 0
    levels = []
    for level, index in perfect_subtrees(0, size):
        assert index << level == position
        position += 1 << level
        levels.append(level)
    assert position == size
    assert levels == sorted(levels, reverse=True)
    assert len(levels) == size.bit_count()


def test_perfect_subtrees_reject_unaligned_ranges() -> None:
    assert perfect_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert perfect_subtrees(5, 5) == []
    with pytest.raises(ValueError, match="not aligned"):
        perfect_subtrees(4, 9)
    with pytest.raises(ValueError, match="0 <= begin <= end"):
        perfect_subtrees(5, 4)


@PROPERTY
@given(case=tree_and_index())
def test_inclusion_ranges_fold_from_few_stored_nodes(case: tuple[list[bytes], int]) -> None:
    leaves, index = case
    ranges = inclusion_ranges(index, len(leaves))
    proof = [range_hash_from_stored_nodes(leaves, begin, end) for begin, end in ranges]
    assert proof == ref_path(index, leaves)
    nodes = sum(len(perfect_subtrees(begin, end)) for begin, end in ranges)
    assert nodes <= 2 * len(leaves).bit_length()


@PROPERTY
@given(case=tree_and_old_size())
def test_consistency_ranges_fold_from_few_stored_nodes(case: tuple[list[bytes], int]) -> None:
    leaves, size1 = case
    ranges = consistency_ranges(size1, len(leaves))
    proof = [range_hash_from_stored_nodes(leaves, begin, end) for begin, end in ranges]
    assert proof == ref_proof(size1, leaves)
    nodes = sum(len(perfect_subtrees(begin, end)) for begin, end in ranges)
    assert nodes <= 3 * len(leaves).bit_length()


@PROPERTY
@given(
    size=st.integers(min_value=0, max_value=1200),
    seed=seeds,
    cuts=st.lists(st.integers(min_value=0, max_value=1200), max_size=6),
)
def test_appending_in_batches_stores_every_perfect_node_once(
    size: int, seed: int, cuts: list[int]
) -> None:
    leaves = make_leaves(size, seed)
    bounds = sorted({0, size, *(cut for cut in cuts if cut <= size)})
    frontier: list[bytes] = []
    stored: dict[tuple[int, int], bytes] = {}
    for begin, end in itertools.pairwise(bounds):
        completed, frontier = new_perfect_nodes(begin, frontier, leaves[begin:end])
        for level, index, value in completed:
            assert (level, index) not in stored
            if level:  # each node arrives after both its children
                assert (level - 1, 2 * index) in stored
                assert (level - 1, 2 * index + 1) in stored
            stored[(level, index)] = value
        assert root_from_frontier(frontier) == ref_mth(leaves[:end])
    every_perfect_node = {
        (level, index) for level in range(size.bit_length()) for index in range(size >> level)
    }
    assert stored.keys() == every_perfect_node
    for (level, index), value in stored.items():
        assert value == subtree_hash(leaves, level, index)
    assert frontier == [subtree_hash(leaves, lvl, idx) for lvl, idx in perfect_subtrees(0, size)]


def test_appending_checks_the_frontier_it_is_given() -> None:
    leaves = make_leaves(3, 1)
    assert root_from_frontier([]) == EMPTY_ROOT
    with pytest.raises(ValueError, match="frontier of 2 hashes; got 1"):
        new_perfect_nodes(3, [leaves[0]], leaves)
    with pytest.raises(ValueError, match="32 bytes"):
        new_perfect_nodes(1, [b"short"], leaves)
    with pytest.raises(ValueError, match="32 bytes"):
        new_perfect_nodes(0, [], [b"short"])
