"""Witness policies, stored cosignatures, and the checkpoint a ledger publishes.

A ledger's policy names its witnesses (name, cosignature verifier key, URL) and
how many of them (``quorum``) must cosign a checkpoint before it is published.
`published_checkpoint` is the newest checkpoint that meets the policy, with the
cosignatures that do: what ``/checkpoint`` serves. Sealing never waits for
witnesses; publication does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass

from psycopg2.extensions import cursor as Cursor

from guestbook_ledger.format.checkpoint import SignedCheckpoint
from guestbook_ledger.format.cosignature import Cosignature, Cosigner
from guestbook_ledger.format.errors import KeyFormatError
from guestbook_ledger.format.note import NoteSignature
from guestbook_ledger.store.errors import StoreError
from guestbook_ledger.store.heads import FORMAT_CHECKPOINT, HEAD_COLUMNS, head_from_row
from guestbook_ledger.store.ledgers import Ledger, find_ledger
from guestbook_ledger.store.locks import WITNESS_LOCK_CLASS
from guestbook_ledger.store.schema import Connection

MAX_WITNESSES = 16


class WitnessPolicyError(StoreError, ValueError):
    """A witness policy is malformed (bad key, duplicate name, quorum above the count)."""


@dataclass(frozen=True)
class Witness:
    """One witness of a ledger: its cosigner key and its submission URL."""

    cosigner: Cosigner
    url: str

    @property
    def name(self) -> str:
        return self.cosigner.name


@dataclass(frozen=True)
class WitnessPolicy:
    version: int
    quorum: int
    witnesses: tuple[Witness, ...]


def parse_witnesses(entries: list[dict[str, str]]) -> tuple[Witness, ...]:
    """Witnesses from ``[{"name", "verifierKey", "url"}, ...]`` (a Ledger's spec).

    Raises WitnessPolicyError naming the first bad entry.
    """
    if len(entries) > MAX_WITNESSES:
        raise WitnessPolicyError(f"at most {MAX_WITNESSES} witnesses; got {len(entries)}")
    witnesses = []
    for position, entry in enumerate(entries):
        try:
            cosigner = Cosigner.from_text(str(entry.get("verifierKey", "")))
        except KeyFormatError as exc:
            raise WitnessPolicyError(f"witness {position}: {exc}") from None
        if entry.get("name", cosigner.name) != cosigner.name:
            raise WitnessPolicyError(
                f"witness {position} is named {entry.get('name')!r} but its key is "
                f"{cosigner.name!r}"
            )
        url = str(entry.get("url", ""))
        if not url.startswith(("http://", "https://")):
            raise WitnessPolicyError(f"witness {cosigner.name}: url must be http(s); got {url!r}")
        witnesses.append(Witness(cosigner, url))
    names = [w.name for w in witnesses]
    if len(set(names)) != len(names):
        raise WitnessPolicyError("witness names must be distinct")
    return tuple(witnesses)


def _witnesses_json(witnesses: tuple[Witness, ...]) -> str:
    entries = [
        {"name": w.name, "verifierKey": w.cosigner.to_text(), "url": w.url} for w in witnesses
    ]
    return json.dumps(entries, sort_keys=True)


def _read_policy(cur: Cursor, ledger: Ledger) -> WitnessPolicy | None:
    cur.execute(
        "SELECT version, quorum, witnesses FROM witness_policies WHERE ledger_id = %s"
        " ORDER BY version DESC LIMIT 1",
        (ledger.id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    version, quorum, entries = row
    return WitnessPolicy(version, quorum, parse_witnesses(entries))


def set_witness_policy(
    conn: Connection, ledger: str, *, quorum: int, witnesses: list[dict[str, str]]
) -> WitnessPolicy:
    """Make ``quorum`` of ``witnesses`` the ledger's policy (a new version, unless
    it is already the newest). Commits.

    Raises WitnessPolicyError for a malformed policy, LedgerNameError,
    UnknownLedgerError.
    """
    parsed = parse_witnesses(witnesses)
    if not 0 <= quorum <= len(parsed):
        raise WitnessPolicyError(
            f"the quorum must be between 0 and the {len(parsed)} witnesses; got {quorum}"
        )
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute("SELECT 1 FROM ledgers WHERE id = %s FOR UPDATE", (found.id,))
        current = _read_policy(cur, found)
        if (
            current is not None
            and current.quorum == quorum
            and _witnesses_json(current.witnesses) == _witnesses_json(parsed)
        ):
            return current
        version = 1 if current is None else current.version + 1
        cur.execute(
            "INSERT INTO witness_policies (ledger_id, version, quorum, witnesses)"
            " VALUES (%s, %s, %s, %s)",
            (found.id, version, quorum, _witnesses_json(parsed)),
        )
    return WitnessPolicy(version, quorum, parsed)


def witness_policy(conn: Connection, ledger: str) -> WitnessPolicy | None:
    """The ledger's newest witness policy, or None when it never had one."""
    with conn, conn.cursor() as cur:
        return _read_policy(cur, find_ledger(cur, ledger))


def record_cosignatures(
    conn: Connection, ledger: str, tree_size: int, cosignatures: list[Cosignature]
) -> None:
    """Store verified cosignatures of the ledger's head at ``tree_size``. Commits;
    a cosignature already stored is kept as it was."""
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        for cosignature in cosignatures:
            raw = _line_signature(cosignature.line)
            cur.execute(
                "INSERT INTO cosignatures (ledger_id, tree_size, witness, key_id, signature)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (found.id, tree_size, cosignature.cosigner.name, cosignature.cosigner.key_id, raw),
            )


def _line_signature(line: str) -> bytes:
    return base64.b64decode(line.rstrip("\n").rsplit(" ", 1)[1])[4:]


@dataclass(frozen=True)
class StoredCosignature:
    """A witness's stored cosignature of the ledger's head at ``tree_size``: the
    time the witness put in it (POSIX seconds) and when it was received."""

    tree_size: int
    timestamp: int
    received_at: datetime.datetime


def latest_cosignature(
    conn: Connection, ledger: str, witness: Cosigner
) -> StoredCosignature | None:
    """The cosignature of the largest tree size ``witness`` cosigned for the ledger,
    or None. One index lookup."""
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        cur.execute(
            "SELECT tree_size, signature, received_at FROM cosignatures"
            " WHERE ledger_id = %s AND witness = %s AND key_id = %s"
            " ORDER BY tree_size DESC LIMIT 1",
            (found.id, witness.name, witness.key_id),
        )
        row = cur.fetchone()
    if row is None:
        return None
    tree_size, signature, received_at = row
    timestamp = int.from_bytes(bytes(signature)[:8], "big")
    return StoredCosignature(int(tree_size), timestamp, received_at)


def witnessed_size(conn: Connection, ledger: str, witness: Cosigner) -> int:
    """The largest tree size ``witness`` cosigned for the ledger (0 for none):
    the old size of the next add-checkpoint. One index lookup."""
    stored = latest_cosignature(conn, ledger, witness)
    return stored.tree_size if stored else 0


@contextlib.contextmanager
def witness_round_lock(conn: Connection, ledger: str, *, wait: bool) -> Iterator[bool]:
    """Hold the ledger's witness-round lock (a session advisory lock on ``conn``)
    while the block runs; yields False, without the lock, when ``wait`` is False
    and another round holds it. Rounds take seconds (HTTP to witnesses), so the
    lock is not tied to a transaction. Raises UnknownLedgerError."""
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        cur.execute(f"SELECT {function}(%s, %s::integer)", (WITNESS_LOCK_CLASS, found.id))
        row = cur.fetchone()
    busy = not wait and row is not None and row[0] is False
    if busy:
        yield False
        return
    try:
        yield True
    finally:
        if not conn.closed:
            with conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_advisory_unlock(%s, %s::integer)", (WITNESS_LOCK_CLASS, found.id)
                )


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A checkpoint the policy allows to publish, and the cosignature lines it carries."""

    checkpoint: SignedCheckpoint
    cosignature_lines: tuple[str, ...]

    def note(self) -> str:
        """The checkpoint note with the witnesses' cosignatures appended."""
        return self.checkpoint.note() + "".join(self.cosignature_lines)


def published_checkpoint(conn: Connection, ledger: str) -> PublishedCheckpoint | None:
    """The newest checkpoint cosigned by at least the policy's quorum of its
    witnesses (the newest checkpoint, without a policy or with quorum 0), with
    the policy's witnesses' cosignatures; None when none qualifies yet.

    Raises LedgerNameError, UnknownLedgerError.
    """
    with conn, conn.cursor() as cur:
        found = find_ledger(cur, ledger)
        policy = _read_policy(cur, found)
        witnesses = policy.witnesses if policy else ()
        quorum = policy.quorum if policy else 0
        names = [w.name for w in witnesses] or [""]
        key_ids = [w.cosigner.key_id for w in witnesses] or [b""]
        cur.execute(
            f"SELECT {', '.join('h.' + c.strip() for c in HEAD_COLUMNS.split(','))}"
            " FROM tree_heads h WHERE h.ledger_id = %s AND h.format = %s AND %s <= ("
            "   SELECT count(DISTINCT c.witness) FROM cosignatures c"
            "   JOIN unnest(%s::text[], %s::bytea[]) AS w (witness, key_id)"
            "     ON c.witness = w.witness AND c.key_id = w.key_id"
            "   WHERE c.ledger_id = h.ledger_id AND c.tree_size = h.tree_size)"
            " ORDER BY h.tree_size DESC LIMIT 1",
            (found.id, FORMAT_CHECKPOINT, quorum, names, key_ids),
        )
        row = cur.fetchone()
        if row is None:
            return None
        head = head_from_row(found, row)
        assert isinstance(head, SignedCheckpoint)
        cur.execute(
            "SELECT witness, key_id, signature FROM cosignatures"
            " WHERE ledger_id = %s AND tree_size = %s ORDER BY witness",
            (found.id, head.tree_size),
        )
        known = {(w.name, w.cosigner.key_id) for w in witnesses}
        lines = tuple(
            NoteSignature(name, bytes(kid), bytes(sig)).to_line()
            for name, kid, sig in cur.fetchall()
            if (name, bytes(kid)) in known
        )
    return PublishedCheckpoint(head, lines)
