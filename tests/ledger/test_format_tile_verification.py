"""Re-deriving tiles as a monitor does: which tiles move a verified tree to a larger
one, roots of both trees computed from the same tiles (equal to the in-memory
tree's), and bad tiles and bundles named precisely."""

from __future__ import annotations

import pytest
from guestbook_ledger.format import TileError, leaf_hash
from guestbook_ledger.format.tile_verification import (
    TileKey,
    check_bundle,
    check_parent,
    perfect_root,
    root_from_tiles,
    split_tile,
    tiles_to_fetch,
)
from guestbook_ledger.format.tiles import TilePath, entry_bundle
from guestbook_ledger.format.tree import root_hash

RECORDS = [f"record {i}".encode() for i in range(70_000)]
LEAVES = [leaf_hash(record) for record in RECORDS]


def level_hashes(size: int, level: int) -> list[bytes]:
    """The hashes of tree level 8·level of the tree of ``size`` (full chunks only)."""
    hashes = LEAVES[:size]
    for _ in range(level):
        hashes = [
            perfect_root(hashes[i : i + 256]) for i in range(0, len(hashes) // 256 * 256, 256)
        ]
    return hashes


def served(size: int, paths: list[TilePath]) -> dict[TileKey, list[bytes]]:
    tiles = {}
    for path in paths:
        assert path.level is not None
        hashes = level_hashes(size, path.level)[path.first_node() : path.first_node() + path.width]
        assert len(hashes) == path.width, path
        tiles[(path.level, path.index)] = hashes
    return tiles


def test_tiles_to_fetch_start_at_the_old_right_edge() -> None:
    assert [p.to_path() for p in tiles_to_fetch(0, 0)] == []
    assert [p.to_path() for p in tiles_to_fetch(0, 3)] == ["tile/0/000.p/3"]
    assert [p.to_path() for p in tiles_to_fetch(300, 700)] == [
        "tile/0/001",
        "tile/0/002.p/188",
        "tile/1/000.p/2",
    ]
    # The old tile that was full already is not fetched again.
    assert [p.to_path() for p in tiles_to_fetch(512, 513)] == ["tile/0/002.p/1", "tile/1/000.p/2"]
    first_run = tiles_to_fetch(0, 70_000)
    assert len([p for p in first_run if p.level == 0]) == 274
    assert [p.to_path() for p in first_run if p.level] == [
        "tile/1/000",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
    ]
    with pytest.raises(ValueError, match="old <= new"):
        tiles_to_fetch(5, 4)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (0, 1),
        (1, 2),
        (0, 256),
        (255, 257),
        (300, 301),
        (773, 70_000),
        (65_535, 65_537),
        (9, 65_536),
    ],
)
def test_both_roots_come_from_the_same_tiles(old: int, new: int) -> None:
    tiles = served(new, tiles_to_fetch(old, new))
    assert root_from_tiles(new, tiles) == root_hash(LEAVES[:new])
    assert root_from_tiles(old, tiles) == root_hash(LEAVES[:old])


def test_a_missing_edge_tile_is_named() -> None:
    tiles = served(700, tiles_to_fetch(300, 700))
    del tiles[(1, 0)]
    with pytest.raises(ValueError, match="tile/1/000"):
        root_from_tiles(700, tiles)


def test_bundles_must_hash_to_their_tile() -> None:
    path = TilePath(0, 1, 44)
    hashes = LEAVES[256:300]
    assert check_bundle(path, hashes, entry_bundle(RECORDS[256:300])) == RECORDS[256:300]
    altered = [*RECORDS[256:300]]
    altered[3] = b"record 999"
    with pytest.raises(TileError, match=r"entry 259 in tile/entries/001\.p/44 hashes to"):
        check_bundle(path, hashes, entry_bundle(altered))
    with pytest.raises(TileError, match="must hold 44 entries; the log served 43"):
        check_bundle(path, hashes, entry_bundle(RECORDS[256:299]))
    with pytest.raises(TileError, match="not an entry bundle"):
        check_bundle(path, hashes, b"\x00\x09abc")


def test_tiles_must_have_their_width_and_hash_to_their_parent() -> None:
    data = b"".join(LEAVES[:256])
    assert split_tile(TilePath(0, 0, 256), data) == LEAVES[:256]
    with pytest.raises(TileError, match="must hold 256 hashes"):
        split_tile(TilePath(0, 0, 256), data[:-1])
    parent = TilePath(1, 0, 2)
    parent_hashes = level_hashes(512, 1)
    child = TilePath(0, 1, 256)
    check_parent(parent, parent_hashes, child, perfect_root(LEAVES[256:512]))
    with pytest.raises(TileError, match=r"tile/0/001 hashes to .* but tile/1/000.p/2 says"):
        check_parent(parent, parent_hashes, child, perfect_root(LEAVES[:256]))
    with pytest.raises(ValueError, match="not a full tile under"):
        check_parent(parent, parent_hashes, TilePath(0, 2, 256), parent_hashes[0])
