"""Tiles and entry bundles (C2SP tlog-tiles) read from the stored tree.

A tile's hashes are stored nodes of one tree level with consecutive indexes
(see `guestbook_ledger.format.tiles`), so a tile is one range scan of a
primary-key (``tree_nodes``) or unique (``entries.leaf_index``) index: at most
256 rows, never a pass over the leaves. Nothing is stored per tile (decision
0085 measures why). Every function runs one read-only transaction of two
queries: the ledger's row and the range.
"""

from __future__ import annotations

from guestbook_ledger.format.limits import MAX_TREE_SIZE
from guestbook_ledger.format.tiles import TILE_WIDTH, TilePath
from guestbook_ledger.store.errors import TileNotFoundError
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection

MAX_NODE_LEVEL = 62
"""Highest level ``tree_nodes`` can hold (its CHECK constraint)."""


def _not_found(ledger: str, tile: TilePath) -> TileNotFoundError:
    return TileNotFoundError(
        f"{tile.to_path()} is beyond the sealed tree of ledger {ledger!r}: it needs a tree of "
        f"at least {tile.size_needed()} leaves."
    )


def read_tile(conn: Connection, ledger: str, tile: TilePath) -> bytes:
    """The concatenated hashes of hash tile ``tile`` (``tile.level`` not None).

    Raises TileNotFoundError when the sealed tree does not hold all of the
    tile's ``tile.width`` hashes, LedgerNameError, UnknownLedgerError.
    """
    if tile.level is None:
        raise ValueError("read_tile reads hash tiles; use read_entry_bundle for entries")
    level = tile.tree_level()
    if level > MAX_NODE_LEVEL or tile.size_needed() > MAX_TREE_SIZE:
        raise _not_found(ledger, tile)
    first = tile.first_node()
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        if level == 0:
            cur.execute(
                "SELECT leaf_hash FROM entries WHERE ledger_id = %s"
                " AND leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
                (found.id, first, first + tile.width),
            )
        else:
            cur.execute(
                "SELECT hash FROM tree_nodes WHERE ledger_id = %s AND level = %s"
                " AND node_index >= %s AND node_index < %s ORDER BY node_index",
                (found.id, level, first, first + tile.width),
            )
        rows = cur.fetchall()
    if len(rows) != tile.width:
        raise _not_found(ledger, tile)
    return b"".join(bytes(row[0]) for row in rows)


def read_entry_records(conn: Connection, ledger: str, tile: TilePath) -> list[bytes]:
    """The records (exactly the bytes that were leaf-hashed) of the entries of
    bundle ``tile`` (``tile.level`` None), in leaf order.

    Raises TileNotFoundError when fewer than ``tile.width`` of them are
    sealed, LedgerNameError, UnknownLedgerError.
    """
    if tile.level is not None:
        raise ValueError("read_entry_records reads entry bundles; use read_tile for hashes")
    if tile.size_needed() > MAX_TREE_SIZE:
        raise _not_found(ledger, tile)
    first = tile.index * TILE_WIDTH
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT record FROM entries WHERE ledger_id = %s"
            " AND leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
            (found.id, first, first + tile.width),
        )
        rows = cur.fetchall()
    if len(rows) != tile.width:
        raise _not_found(ledger, tile)
    return [bytes(row[0]) for row in rows]
