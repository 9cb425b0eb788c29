"""tlog-tiles paths (canonical form only), which tiles a tree has, and entry bundles."""

from __future__ import annotations

import pytest
from guestbook_ledger.format.tiles import (
    TilePath,
    TilePathError,
    encode_index,
    entry_bundle,
    parse_entry_bundle,
    parse_tile_path,
    partial_width,
    tile_paths,
)


@pytest.mark.parametrize(
    ("index", "encoded"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_indexes_are_x_prefixed_three_digit_groups(index: int, encoded: str) -> None:
    assert encode_index(index) == encoded
    assert parse_tile_path(f"tile/0/{encoded}") == TilePath(0, index, 256)


def test_paths_round_trip() -> None:
    for tile in (TilePath(0, 0, 256), TilePath(2, 1234067, 17), TilePath(None, 5, 3)):
        assert parse_tile_path(tile.to_path()) == tile
    assert TilePath(None, 5, 3).to_path() == "tile/entries/005.p/3"
    assert TilePath(1, 1000, 256).to_path() == "tile/1/x001/000"
    assert parse_tile_path("/tile/entries/x001/234.p/255") == TilePath(None, 1234, 255)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("tile/00/000", "level"),
        ("tile/64/000", "level"),
        ("tile/-1/000", "level"),
        ("tile/data/000", "level"),
        ("tile/0/0", "3-digit"),
        ("tile/0/0000", "3-digit"),
        ("tile/0/x000", "3-digit"),
        ("tile/0/001/002", "3-digit"),
        ("tile/0/x000/001", "leading x000"),
        ("tile/0/000.p/0", "width"),
        ("tile/0/000.p/256", "width"),
        ("tile/0/000.p/07", "width"),
        ("tile/0/000.p/", "width"),
        ("tile/0/000.p", "3-digit"),
        ("tile/0/x001/x001/x001/x001/x001/x001/x001/001", "groups"),
        ("tile/0", "a tile path is"),
        ("tiles/0/000", "a tile path is"),
    ],
)
def test_malformed_paths_say_what_is_wrong(path: str, reason: str) -> None:
    with pytest.raises(TilePathError, match=reason):
        parse_tile_path(path)


def test_the_tiles_of_a_tree_of_70000_leaves_match_the_spec_example() -> None:
    paths = tile_paths(70_000)
    level0 = [p for p in paths if p.level == 0]
    assert len([p for p in level0 if not p.is_partial]) == 273
    assert [p.width for p in level0 if p.is_partial] == [112]
    assert [(p.width, p.is_partial) for p in paths if p.level == 1] == [(256, False), (17, True)]
    assert [p.width for p in paths if p.level == 2] == [1]
    assert [(p.level, p.width) for p in tile_paths(256)] == [(0, 256), (1, 1)]
    assert partial_width(0, 70_000) == 112 and partial_width(1, 70_000) == 17
    assert TilePath(1, 0, 17).size_needed() == 17 * 256


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    records = [b"", b"a", b"x" * 300]
    bundle = entry_bundle(records)
    assert bundle == b"\x00\x00" + b"\x00\x01a" + b"\x01\x2c" + b"x" * 300
    assert parse_entry_bundle(bundle) == records
    with pytest.raises(ValueError, match="65535"):
        entry_bundle([b"x" * 65536])
    with pytest.raises(ValueError, match="claims"):
        parse_entry_bundle(b"\x00\x05abc")
