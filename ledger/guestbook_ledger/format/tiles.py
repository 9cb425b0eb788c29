"""C2SP tlog-tiles (``c2sp.org/tlog-tiles``): tile paths, tile contents, entry bundles.

A tile at level ``L``, index ``N`` holds up to 256 consecutive hashes of tree
level ``8·L``: hash ``i`` is the Merkle Tree Hash of leaves
``[(N·256 + i)·256^L, (N·256 + i + 1)·256^L)``, which is exactly the stored
perfect node ``(8·L, N·256 + i)`` (level 0: the leaf hash). A full tile has
256 hashes; a partial one (path suffix ``.p/<W>``) has ``W`` of 1–255. An
entry bundle ``tile/entries/<N>`` holds the records of leaves
``[N·256, N·256 + W)``, each prefixed by its length as a big-endian uint16.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from guestbook_ledger.format.limits import MAX_TREE_SIZE

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
"""Largest level a tile path may name (the spec's bound)."""
MAX_INDEX_GROUPS = 7
"""Most 3-digit groups an index has: 7 cover every index below 10^21 > 2^64."""
MAX_ENTRY_SIZE = 0xFFFF

_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_GROUP = re.compile(r"x?[0-9]{3}")


class TilePathError(ValueError):
    """A path is not a tlog-tiles tile or entry-bundle path; the message says why."""


@dataclass(frozen=True)
class TilePath:
    """A parsed tile path. ``level`` is None for an entry bundle; ``width`` is
    256 for a full tile."""

    level: int | None
    index: int
    width: int

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    def tree_level(self) -> int:
        """The Merkle tree level of the tile's hashes (0 for entry bundles)."""
        return 0 if self.level is None else TILE_HEIGHT * self.level

    def first_node(self) -> int:
        """Index, within `tree_level`, of the tile's first hash."""
        return self.index * TILE_WIDTH

    def size_needed(self) -> int:
        """The smallest tree size that holds every hash (or entry) of this tile."""
        return (self.first_node() + self.width) << self.tree_level()

    def to_path(self) -> str:
        """The path, without a leading slash: ``tile/L/N[.p/W]`` or ``tile/entries/N[.p/W]``."""
        kind = "entries" if self.level is None else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{kind}/{encode_index(self.index)}{suffix}"


def encode_index(index: int) -> str:
    """``index`` as x-prefixed 3-digit path groups: 1234067 → ``x001/x234/067``.

    Requires index ≥ 0.
    """
    if index < 0:
        raise ValueError(f"a tile index must be at least 0; got {index}")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{group}" for group in groups[:-1]] + groups[-1:])


def parse_tile_path(path: str) -> TilePath:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (a leading
    slash is allowed).

    Only the canonical form is accepted: L is 0–63 and W 1–255, in decimal
    without leading zeros; N's groups are 3 digits, all but the last prefixed
    with ``x``, with no leading all-zero group. Raises TilePathError saying
    which part is malformed.
    """
    parts = path.removeprefix("/").split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TilePathError(
            "a tile path is tile/<level>/<index>[.p/<width>] or tile/entries/<index>[.p/<width>]"
        )
    kind, rest = parts[1], parts[2:]
    level: int | None
    if kind == "entries":
        level = None
    elif _LEVEL.fullmatch(kind) and int(kind) <= MAX_TILE_LEVEL:
        level = int(kind)
    else:
        raise TilePathError(
            f"the tile level must be 0 to {MAX_TILE_LEVEL} without leading zeros, or 'entries'; "
            f"got {kind[:20]!r}"
        )
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        width_text = rest[-1]
        if not _WIDTH.fullmatch(width_text) or int(width_text) >= TILE_WIDTH:
            raise TilePathError(
                f"a partial tile's width must be 1 to {TILE_WIDTH - 1} without leading zeros; "
                f"got {width_text[:20]!r}"
            )
        width = int(width_text)
        rest = [*rest[:-2], rest[-2].removesuffix(".p")]
    return TilePath(level=level, index=_parse_index(rest), width=width)


def _parse_index(groups: list[str]) -> int:
    problem = (
        "a tile index is written in 3-digit groups, all but the last prefixed with 'x' "
        "(1234067 is x001/x234/067)"
    )
    if not 1 <= len(groups) <= MAX_INDEX_GROUPS:
        raise TilePathError(f"{problem}; got {len(groups)} groups")
    for position, group in enumerate(groups):
        last = position == len(groups) - 1
        if not _GROUP.fullmatch(group) or group.startswith("x") == last:
            raise TilePathError(f"{problem}; got {group[:20]!r}")
    digits = "".join(group.removeprefix("x") for group in groups)
    if len(groups) > 1 and groups[0] == "x000":
        raise TilePathError(f"{problem}, without leading x000 groups")
    return int(digits)


def partial_width(level: int, tree_size: int) -> int:
    """Width of the rightmost, partial tile at ``level`` of a tree of ``tree_size``
    leaves (0 when that level has no partial tile): ⌊size / 256^level⌋ mod 256."""
    return (tree_size >> (TILE_HEIGHT * level)) % TILE_WIDTH


def tile_paths(tree_size: int) -> list[TilePath]:
    """Every hash tile of a tree of ``tree_size`` leaves (full and partial), level
    by level: what a client needs to hold the whole tree. Requires
    0 ≤ tree_size ≤ MAX_TREE_SIZE."""
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        raise ValueError(f"tree size must be between 0 and {MAX_TREE_SIZE}; got {tree_size}")
    paths: list[TilePath] = []
    level = 0
    while tree_size >> (TILE_HEIGHT * level):
        hashes = tree_size >> (TILE_HEIGHT * level)
        full, rest = divmod(hashes, TILE_WIDTH)
        paths.extend(TilePath(level, index, TILE_WIDTH) for index in range(full))
        if rest:
            paths.append(TilePath(level, full, rest))
        level += 1
    return paths


def entry_bundle(records: Sequence[bytes]) -> bytes:
    """The entry bundle of ``records``: each prefixed with its length as a
    big-endian uint16. Raises ValueError for a record longer than 65535 bytes."""
    parts = []
    for record in records:
        if len(record) > MAX_ENTRY_SIZE:
            raise ValueError(
                f"an entry bundle holds records of at most {MAX_ENTRY_SIZE} bytes; "
                f"got {len(record)}"
            )
        parts.append(len(record).to_bytes(2, "big"))
        parts.append(record)
    return b"".join(parts)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The records of an entry bundle. Raises ValueError when a length prefix
    runs past the end."""
    records: list[bytes] = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise ValueError(f"the entry bundle ends inside a length prefix at byte {position}")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise ValueError(
                f"entry {len(records)} of the bundle claims {length} bytes, "
                f"but only {len(data) - position} remain"
            )
        records.append(data[position : position + length])
        position += length
    return records
