"""Ledgers and the public keys that sign their tree heads."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.names import parse_ledger_name
from guestbook_ledger.format.sth import key_id
from guestbook_ledger.store.errors import LedgerNameError, UnknownLedgerError
from guestbook_ledger.store.schema import Connection


@dataclass(frozen=True)
class Ledger:
    """A ledger row: its database id and its ``<namespace>/<name>``."""

    id: int
    namespace: str
    name: str

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"


def split_ledger_name(ledger: str) -> tuple[str, str]:
    """Split ``NAMESPACE/NAME``; raise LedgerNameError (a ValueError) when malformed."""
    try:
        return parse_ledger_name(ledger)
    except ValueError as exc:
        raise LedgerNameError(str(exc)) from None


def ensure_ledger(
    conn: Connection, ledger: str, *, public_key: Ed25519PublicKey | None = None
) -> Ledger:
    """Create the ledger ``NAMESPACE/NAME`` if it does not exist and register
    `public_key` as one of its signing keys if given. Idempotent; commits.

    Raises LedgerNameError for a malformed name.
    """
    namespace, name = split_ledger_name(ledger)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ledgers (namespace, name) VALUES (%s, %s)"
            " ON CONFLICT (namespace, name) DO NOTHING",
            (namespace, name),
        )
        found = find_ledger(cur, ledger)
        if public_key is not None:
            cur.execute(
                "INSERT INTO ledger_keys (ledger_id, key_id, public_key) VALUES (%s, %s, %s)"
                " ON CONFLICT (ledger_id, key_id) DO NOTHING",
                (found.id, bytes.fromhex(key_id(public_key)), public_key.public_bytes_raw()),
            )
    return found


def find_ledger(cur: Cursor, ledger: str) -> Ledger:
    """Look up ``NAMESPACE/NAME`` within the caller's transaction.

    Raises LedgerNameError for a malformed name, UnknownLedgerError when absent.
    """
    namespace, name = split_ledger_name(ledger)
    cur.execute("SELECT id FROM ledgers WHERE namespace = %s AND name = %s", (namespace, name))
    row = cur.fetchone()
    if row is None:
        raise UnknownLedgerError(
            f"There is no ledger {ledger!r} in this database; check the namespace and name."
        )
    return Ledger(id=row[0], namespace=namespace, name=name)


def ledger_public_keys(cur: Cursor, ledger_id: int) -> dict[bytes, Ed25519PublicKey]:
    """Every registered signing key of the ledger, by raw key id."""
    cur.execute("SELECT key_id, public_key FROM ledger_keys WHERE ledger_id = %s", (ledger_id,))
    return {
        bytes(kid): Ed25519PublicKey.from_public_bytes(bytes(raw)) for kid, raw in cur.fetchall()
    }
