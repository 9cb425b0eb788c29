"""A ledger's queue as the operator watches it: how many entries wait, which
ones, and how long sealed ones waited.

Each is a single indexed query (the partial index ``entries_pending`` or the
leaf index), never a pass over all leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

from guestbook_ledger.store.ledgers import find_ledger
from guestbook_ledger.store.schema import Connection


@dataclass(frozen=True)
class PendingEntry:
    """An entry admitted but not yet sealed, and how long ago it was admitted
    (by the database's clock)."""

    uid: str
    entry_name: str
    age_seconds: float


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


def pending_entries(conn: Connection, ledger: str, *, limit: int) -> list[PendingEntry]:
    """Up to `limit` pending entries of ``NAMESPACE/NAME``, oldest first.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT uid, entry_name, extract(epoch FROM now() - admitted_at) FROM entries"
            " WHERE ledger_id = %s AND state = 'pending' ORDER BY seq LIMIT %s",
            (found.id, limit),
        )
        return [PendingEntry(uid, name, float(age)) for uid, name, age in cur.fetchall()]


def seal_latencies(conn: Connection, ledger: str, start: int, end: int) -> list[float]:
    """Seconds from creation (the entry's submittedAt) to seal, for the leaves
    ``start <= index < end`` of ``NAMESPACE/NAME``, in no particular order.
    A creation stamp later than the seal (clock skew) counts as 0.

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
