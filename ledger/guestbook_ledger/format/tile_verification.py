"""Re-deriving what a tlog-tiles log serves: which tiles a monitor fetches to move
from one verified tree to a larger one, the checks that tie each new tile to
its entry bundle or to the tiles below it, and the roots the tiles give.

A monitor that verified the tree of ``old_size`` and sees a checkpoint of
``new_size`` fetches, at every level L, the tiles from the one holding the
old tree's right edge to the new tree's last (`tiles_to_fetch`), at their
widths in the new tree. Then:

- every level-0 tile must equal the leaf hashes of its entry bundle's records
  (`check_bundle`);
- every hash of a level-L tile whose child tile at level L-1 was fetched must
  be that child's Merkle Tree Hash (`check_parent`), so every new hash hangs
  from the tiles above it;
- the root of ``new_size`` computed from the tiles must be the checkpoint's,
  and the root of ``old_size`` computed from the *same* tiles must be the one
  verified before (`root_from_tiles`): the new tree extends the old one. This
  is consistency proven the way a tile client (Go's ``tlog.TileHashReader``)
  proves it: from the hashes, without trusting a proof the log composed.

Hashes of older tiles that are not fetched are committed to by the old root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guestbook_ledger.format.errors import TileError
from guestbook_ledger.format.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash
from guestbook_ledger.format.limits import MAX_TREE_SIZE
from guestbook_ledger.format.ranges import fold_range, perfect_subtrees
from guestbook_ledger.format.tiles import TILE_HEIGHT, TILE_WIDTH, TilePath, parse_entry_bundle

TileKey = tuple[int, int]
"""A hash tile's (level, index)."""


def tiles_to_fetch(old_size: int, new_size: int) -> list[TilePath]:
    """The hash tiles a monitor fetches to go from the verified tree of
    ``old_size`` to the tree of ``new_size``: at every level, from the tile that
    holds the old tree's right edge to the new tree's last tile, each at its
    width in the new tree; level 0 first. Every new hash and every hash of both
    trees' right edges is in one of them.

    Requires 0 ≤ old_size ≤ new_size ≤ MAX_TREE_SIZE (else ValueError).
    """
    if not 0 <= old_size <= new_size <= MAX_TREE_SIZE:
        raise ValueError(
            f"sizes must satisfy 0 <= old <= new <= {MAX_TREE_SIZE}; got {old_size}, {new_size}"
        )
    paths = []
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        new_count = new_size >> (TILE_HEIGHT * level)
        old_count = old_size >> (TILE_HEIGHT * level)
        for index in range(old_count // TILE_WIDTH, (new_count - 1) // TILE_WIDTH + 1):
            width = min(TILE_WIDTH, new_count - index * TILE_WIDTH)
            paths.append(TilePath(level, index, width))
        level += 1
    return paths


def split_tile(path: TilePath, data: bytes) -> list[bytes]:
    """The hashes of hash tile ``path`` served as ``data``. Raises TileError when
    it is not exactly ``path.width`` hashes."""
    if len(data) != HASH_SIZE * path.width:
        raise TileError(
            f"{path.to_path()} must hold {path.width} hashes ({HASH_SIZE * path.width} bytes); "
            f"the log served {len(data)} bytes"
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def check_bundle(path: TilePath, hashes: Sequence[bytes], bundle: bytes) -> list[bytes]:
    """Check that entry bundle ``bundle`` (for level-0 tile ``path``, whose
    ``hashes`` were served) holds ``path.width`` records whose leaf hashes are
    exactly those hashes; return the records.

    Raises TileError naming the first record that differs, or a bundle that
    does not parse or has another number of records.
    """
    where = TilePath(None, path.index, path.width).to_path()
    try:
        records = parse_entry_bundle(bundle)
    except ValueError as exc:
        raise TileError(f"{where} is not an entry bundle: {exc}") from None
    if len(records) != path.width:
        raise TileError(f"{where} must hold {path.width} entries; the log served {len(records)}")
    for position, (record, served) in enumerate(zip(records, hashes, strict=True)):
        computed = leaf_hash(record)
        if computed != served:
            raise TileError(
                f"entry {path.first_node() + position} in {where} hashes to {computed.hex()}, "
                f"but {path.to_path()} says {served.hex()}"
            )
    return records


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of a perfect subtree from its 2^k hashes at one level
    (a full tile gives the hash one level-of-tiles up). Requires a power-of-two
    count of at least one (else ValueError)."""
    count = len(hashes)
    if count == 0 or count & (count - 1):
        raise ValueError(f"a perfect subtree has a power-of-two number of hashes; got {count}")
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def check_parent(
    parent: TilePath, parent_hashes: Sequence[bytes], child: TilePath, child_root: bytes
) -> None:
    """Check that the full tile ``child`` (one level below ``parent`` and under
    it), whose hashes have the Merkle Tree Hash ``child_root`` (`perfect_root`),
    has that hash in ``parent``. Raises TileError when it does not; ValueError
    when ``child`` is not a full tile under ``parent``."""
    if (
        parent.level is None
        or child.level != parent.level - 1
        or child.width != TILE_WIDTH
        or not 0 <= child.index - parent.first_node() < min(parent.width, len(parent_hashes))
    ):
        raise ValueError(f"{child.to_path()} is not a full tile under {parent.to_path()}")
    position = child.index - parent.first_node()
    if child_root != parent_hashes[position]:
        raise TileError(
            f"{child.to_path()} hashes to {child_root.hex()}, but {parent.to_path()} says "
            f"{parent_hashes[position].hex()} (hash {position})"
        )


def root_from_tiles(size: int, tiles: Mapping[TileKey, Sequence[bytes]]) -> bytes:
    """The root of the tree of ``size`` leaves computed from hash ``tiles``
    (by (level, index)): each perfect subtree of the tree's right edge is folded
    from the hashes of the tile level just below it.

    Requires the tiles holding the tree's right edge (see `tiles_to_fetch`) with
    enough width; raises ValueError naming a missing tile otherwise.
    """
    if size == 0:
        return EMPTY_ROOT
    frontier = []
    for level, index in perfect_subtrees(0, size):
        tile_level, rest = divmod(level, TILE_HEIGHT)
        first = index << rest  # the subtree's first hash at tree level 8·tile_level
        tile_index, position = divmod(first, TILE_WIDTH)
        hashes = tiles.get((tile_level, tile_index))
        if hashes is None or len(hashes) < position + (1 << rest):
            raise ValueError(
                f"the root of size {size} needs {1 << rest} hashes from position {position} of "
                f"{TilePath(tile_level, tile_index, TILE_WIDTH).to_path()}"
            )
        frontier.append(perfect_root(hashes[position : position + (1 << rest)]))
    return fold_range(frontier)
