"""A ledger's history of signed tree heads, a page at a time, with the stored
witness cosignatures of each: what the web UI's ledger page shows and the
browser verifies (decision 0116).

Each page costs two index range scans (heads, then their cosignatures), never a
pass over the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass

from guestbook_ledger.format.checkpoint import SignedCheckpoint, TreeHead
from guestbook_ledger.format.note import NoteSignature
from guestbook_ledger.store.heads import HEAD_COLUMNS, head_from_row
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection

MAX_HISTORY_PAGE = 1000


@dataclass(frozen=True)
class HistoricHead:
    """A signed tree head and the cosignature lines stored for it (checkpoints
    only; a v1 JSON head has none)."""

    head: TreeHead
    cosignature_lines: tuple[str, ...]

    def note(self) -> str | None:
        """The checkpoint note with every stored cosignature, or None for a v1 head."""
        if not isinstance(self.head, SignedCheckpoint):
            return None
        return self.head.note() + "".join(self.cosignature_lines)


def head_history(
    conn: Connection, ledger: str, *, below: int | None = None, limit: int = 100
) -> list[HistoricHead]:
    """The signed tree heads of ``NAMESPACE/NAME`` with a tree size below
    ``below`` (all when None), largest first, at most ``limit`` of them, each
    with its stored cosignatures (which were verified when stored).

    Requires 1 <= limit <= MAX_HISTORY_PAGE (ValueError otherwise). Raises
    LedgerNameError, UnknownLedgerError.
    """
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise ValueError(f"a history page holds 1 to {MAX_HISTORY_PAGE} heads; got {limit}")
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads WHERE ledger_id = %s"
            " AND (%s::bigint IS NULL OR tree_size < %s::bigint)"
            " ORDER BY tree_size DESC LIMIT %s",
            (found.id, below, below, limit),
        )
        heads = [head_from_row(found, row) for row in cur.fetchall()]
        lines: dict[int, list[str]] = {head.tree_size: [] for head in heads}
        if heads:
            cur.execute(
                "SELECT tree_size, witness, key_id, signature FROM cosignatures"
                " WHERE ledger_id = %s AND tree_size BETWEEN %s AND %s"
                " ORDER BY tree_size, witness",
                (found.id, heads[-1].tree_size, heads[0].tree_size),
            )
            for size, witness, kid, signature in cur.fetchall():
                if size in lines:
                    lines[size].append(
                        NoteSignature(witness, bytes(kid), bytes(signature)).to_line()
                    )
    return [HistoricHead(head, tuple(lines[head.tree_size])) for head in heads]
