"""What the operator reads from the ledger database besides the store's own API:
the size of a ledger's queue and the first tree head that contains a leaf.

Both are single indexed queries (the partial index ``entries_pending`` and the
primary key of ``tree_heads``), never a pass over all leaves.
"""

from __future__ import annotations

from guestbook_ledger.format.sth import SignedTreeHead
from guestbook_ledger.store.heads import HEAD_COLUMNS, head_from_row
from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection


def pending_count(conn: Connection, ledger: str) -> int:
    """Entries of ``NAMESPACE/NAME`` admitted but not yet sealed.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT count(*) FROM entries WHERE ledger_id = %s AND state = 'pending'",
            (found.id,),
        )
        row = cur.fetchone()
    return int(row[0]) if row else 0


def first_head_containing(conn: Connection, ledger: str, leaf_index: int) -> SignedTreeHead | None:
    """The oldest signed tree head whose tree includes leaf ``leaf_index``: the
    tree an entry was first sealed into. None when no head covers it.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            f"SELECT {HEAD_COLUMNS} FROM tree_heads"
            " WHERE ledger_id = %s AND tree_size > %s ORDER BY tree_size LIMIT 1",
            (found.id, leaf_index),
        )
        row = cur.fetchone()
    return None if row is None else head_from_row(found, row)


def pending_entries(conn: Connection, ledger: str, *, limit: int) -> list[tuple[str, str, float]]:
    """Up to ``limit`` pending entries, oldest first, as (uid, entry name, seconds
    since admission).

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT uid, entry_name, extract(epoch FROM now() - admitted_at) FROM entries"
            " WHERE ledger_id = %s AND state = 'pending' ORDER BY seq LIMIT %s",
            (found.id, limit),
        )
        return [(uid, name, float(age)) for uid, name, age in cur.fetchall()]


def seal_latencies(conn: Connection, ledger: str, start: int, end: int) -> list[float]:
    """Seconds from creation (submittedAt) to seal of leaves ``start <= index < end``.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT extract(epoch FROM sealed_at - submitted_at::timestamptz) FROM entries"
            " WHERE ledger_id = %s AND leaf_index >= %s AND leaf_index < %s",
            (found.id, start, end),
        )
        return [max(0.0, float(row[0])) for row in cur.fetchall()]
