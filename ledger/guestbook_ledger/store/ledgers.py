"""Ledgers, their origins and the public keys that sign their tree heads."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.checkpoint import check_origin, default_origin
from guestbook_ledger.format.errors import CheckpointFormatError
from guestbook_ledger.format.names import parse_ledger_name
from guestbook_ledger.format.sth import key_id
from guestbook_ledger.store.errors import LedgerNameError, OriginError, UnknownLedgerError
from guestbook_ledger.store.schema import Connection


@dataclass(frozen=True)
class Ledger:
    """A ledger row: its database id, its ``<namespace>/<name>`` and its
    checkpoint origin (fixed when the ledger was created)."""

    id: int
    namespace: str
    name: str
    origin: str

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
    conn: Connection,
    ledger: str,
    *,
    public_key: Ed25519PublicKey | None = None,
    origin: str | None = None,
) -> Ledger:
    """Create the ledger ``NAMESPACE/NAME`` if it does not exist and register
    `public_key` as one of its signing keys if given. Idempotent; commits.

    A new ledger's checkpoint origin is `origin`, or when None
    `default_origin(ledger)`; it never changes afterwards. Raises
    LedgerNameError for a malformed name, OriginError for a malformed origin
    or one other than the existing ledger's.
    """
    namespace, name = split_ledger_name(ledger)
    wanted = default_origin(ledger) if origin is None else origin
    try:
        check_origin(wanted)
    except CheckpointFormatError as exc:
        raise OriginError(f"The origin of ledger {ledger!r} is not usable: {exc}.") from None
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ledgers (namespace, name, origin) VALUES (%s, %s, %s)"
            " ON CONFLICT (namespace, name) DO NOTHING",
            (namespace, name, wanted),
        )
        found = find_ledger(cur, ledger)
        if origin is not None and found.origin != origin:
            raise OriginError(
                f"Ledger {ledger!r} has the origin {found.origin!r}, which never changes; "
                f"it cannot become {origin!r}. Set spec.origin back to {found.origin!r}."
            )
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
    cur.execute(
        "SELECT id, origin FROM ledgers WHERE namespace = %s AND name = %s", (namespace, name)
    )
    row = cur.fetchone()
    if row is None:
        raise UnknownLedgerError(
            f"There is no ledger {ledger!r} in this database; check the namespace and name."
        )
    return Ledger(id=row[0], namespace=namespace, name=name, origin=row[1])


def ledger_public_keys(cur: Cursor, ledger_id: int) -> dict[bytes, Ed25519PublicKey]:
    """Every registered signing key of the ledger, by raw key id."""
    cur.execute("SELECT key_id, public_key FROM ledger_keys WHERE ledger_id = %s", (ledger_id,))
    return {
        bytes(kid): Ed25519PublicKey.from_public_bytes(bytes(raw)) for kid, raw in cur.fetchall()
    }
