"""Reading and writing stored tree nodes: the perfect subtrees of a ledger's tree.

A node ``(level, index)`` covers leaves ``[index·2^level, (index+1)·2^level)``.
Levels ≥ 1 live in ``tree_nodes``; level 0 is a leaf hash, read from ``entries``
by leaf index. Every read is one query over a primary-key or unique index, for
exactly the nodes asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg2.extensions import cursor as Cursor
from psycopg2.extras import execute_values

from guestbook_ledger.store.errors import MissingNodeError


def read_nodes(cur: Cursor, ledger_id: int, nodes: Sequence[tuple[int, int]]) -> list[bytes]:
    """Return the hashes of `nodes` (``(level, index)`` pairs), in the same order.

    Preconditions: every node lies within the sealed tree. Raises
    MissingNodeError when one is not stored.
    """
    if not nodes:
        return []
    levels = [level for level, _ in nodes]
    indexes = [index for _, index in nodes]
    # Two index lookups, one per table, so no node probes the other table's index.
    cur.execute(
        "WITH wanted AS (SELECT * FROM unnest(%s::smallint[], %s::bigint[])"
        "   WITH ORDINALITY AS w (level, node_index, ord))"
        " SELECT wanted.ord, n.hash FROM wanted JOIN tree_nodes n"
        "   ON n.ledger_id = %s AND n.level = wanted.level AND n.node_index = wanted.node_index"
        "   WHERE wanted.level > 0"
        " UNION ALL"
        " SELECT wanted.ord, e.leaf_hash FROM wanted JOIN entries e"
        "   ON e.ledger_id = %s AND e.leaf_index = wanted.node_index"
        "   WHERE wanted.level = 0 AND e.leaf_hash IS NOT NULL",
        (levels, indexes, ledger_id, ledger_id),
    )
    by_position = {ordinal: bytes(node_hash) for ordinal, node_hash in cur.fetchall()}
    hashes = []
    for ordinal, (level, index) in enumerate(nodes, start=1):
        node_hash = by_position.get(ordinal)
        if node_hash is None:
            raise MissingNodeError(
                f"Tree node (level {level}, index {index}) of ledger id {ledger_id} is missing "
                "from the database; run `guestbook-ledger audit` to find the damage."
            )
        hashes.append(node_hash)
    return hashes


def write_nodes(cur: Cursor, ledger_id: int, nodes: Sequence[tuple[int, int, bytes]]) -> None:
    """Insert new perfect nodes ``(level, index, hash)``; level-0 nodes are skipped
    (leaf hashes are stored with their entries)."""
    rows = [(ledger_id, level, index, node) for level, index, node in nodes if level > 0]
    if rows:
        execute_values(
            cur,
            "INSERT INTO tree_nodes (ledger_id, level, node_index, hash) VALUES %s",
            rows,
            page_size=len(rows),
        )
