"""The witness's store: SQLite in its state folder (``witness.db``).

For each log origin it keeps the latest checkpoint the witness cosigned (tree
size, root hash, and the note with the log's signature and the cosignature, as
the monitoring API serves it). `WitnessStore.decide` reads what is held and
writes the new checkpoint in one ``BEGIN IMMEDIATE`` transaction, so two
requests (or two processes on one folder) can never roll a log back, and the
commit is synchronous (``synchronous=FULL``) before the witness answers.
Triggers in the database refuse any update that lowers a size or changes the
root at the same size, and any deletion: the rule holds even for a bug here.

Refused checkpoints that carried a valid log signature but failed a
consistency check are kept in ``refusals`` (the newest 1000 per origin) as
evidence of log misbehaviour, as tlog-witness allows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DB_FILE = "witness.db"
SCHEMA_VERSION = 1
KEPT_REFUSALS = 1000

_SCHEMA = """
CREATE TABLE identity (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL CHECK (length(public_key) = 32)
);
CREATE TABLE checkpoints (
    origin TEXT PRIMARY KEY,
    tree_size INTEGER NOT NULL CHECK (tree_size >= 0),
    root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TRIGGER checkpoints_never_go_back BEFORE UPDATE ON checkpoints
WHEN NEW.origin != OLD.origin OR NEW.tree_size < OLD.tree_size
    OR (NEW.tree_size = OLD.tree_size AND NEW.root_hash != OLD.root_hash)
BEGIN
    SELECT RAISE(ABORT, 'a witnessed checkpoint is never replaced by a smaller or other tree');
END;
CREATE TRIGGER checkpoints_are_kept BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'witnessed checkpoints are never deleted');
END;
CREATE TABLE refusals (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    request BLOB NOT NULL
);
CREATE INDEX refusals_by_origin ON refusals (origin, id);
"""


class StateError(Exception):
    """The state folder cannot be created or opened; the message says what to do."""


@dataclass(frozen=True)
class Held:
    """The latest checkpoint cosigned for one origin."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str
    cosigned_at: int


@dataclass(frozen=True)
class Refusal:
    """A checkpoint not cosigned: the HTTP status and one-sentence reason to answer;
    ``evidence`` keeps the request in ``refusals`` (a validly signed checkpoint
    that is inconsistent with what is held)."""

    status: int
    reason: str
    evidence: bool = False
    held_size: int | None = None


Verdict = Held | Refusal


class WitnessStore:
    """The SQLite database of one witness. Each call opens its own connection, so
    a store is safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, folder: Path, name: str, public_key: Ed25519PublicKey) -> WitnessStore:
        """Create ``folder/witness.db`` recording the witness's name and public key.

        Raises StateError when it exists or cannot be created.
        """
        path = folder / DB_FILE
        if path.exists():
            raise StateError(f"{path} exists: this folder already holds a witness")
        try:
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(
                    "BEGIN;" + _SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
                conn.execute(
                    "INSERT INTO identity (only, name, public_key) VALUES (1, ?, ?)",
                    (name, public_key.public_bytes_raw()),
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot create {path}: {exc}") from None
        return cls(path)

    @classmethod
    def open(cls, folder: Path) -> WitnessStore:
        """Open the store in ``folder``. Raises StateError when it is missing or is not
        a witness database of this version."""
        path = folder / DB_FILE
        if not path.is_file():
            raise StateError(
                f"{path} does not exist: create the witness first with "
                f"'guestbook-ledger witness init --state {folder} --name NAME'"
            )
        store = cls(path)
        try:
            with store._connect() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise StateError(f"{path} is not a witness database: {exc}") from None
        if version != SCHEMA_VERSION:
            raise StateError(
                f"{path} has schema version {version}; this witness reads version {SCHEMA_VERSION}"
            )
        return store

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # uri + mode=rw: never create an empty database by opening a wrong path.
        conn = sqlite3.connect(
            f"file:{self.path}?mode=rw", uri=True, timeout=30, isolation_level=None
        )
        try:
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    def identity(self) -> tuple[str, bytes]:
        """The recorded witness name and raw public key."""
        with self._connect() as conn:
            name, key = conn.execute("SELECT name, public_key FROM identity").fetchone()
        return str(name), bytes(key)

    def held(self, origin: str) -> Held | None:
        """The latest checkpoint cosigned for ``origin``, or None."""
        with self._connect() as conn:
            return _held(conn, origin)

    def all_held(self) -> list[Held]:
        """Every origin's latest cosigned checkpoint, by origin."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT origin, tree_size, root_hash, note, cosigned_at FROM checkpoints "
                "ORDER BY origin"
            ).fetchall()
        return [Held(o, s, bytes(r), n, c) for o, s, r, n, c in rows]

    def decide(
        self, origin: str, judge: Callable[[Held | None], Verdict], *, request: bytes, now: int
    ) -> Verdict:
        """Run ``judge`` on what is held for ``origin`` and store its verdict, atomically.

        A `Held` verdict becomes the origin's checkpoint; a `Refusal` with
        ``evidence`` is kept with the ``request`` bytes. Raises sqlite3.Error
        when the database fails (nothing is then stored or cosigned).
        """
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                verdict = judge(_held(conn, origin))
                if isinstance(verdict, Held):
                    conn.execute(
                        "INSERT INTO checkpoints (origin, tree_size, root_hash, note, cosigned_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET"
                        " tree_size = excluded.tree_size, root_hash = excluded.root_hash,"
                        " note = excluded.note, cosigned_at = excluded.cosigned_at",
                        (
                            origin,
                            verdict.tree_size,
                            verdict.root_hash,
                            verdict.note,
                            verdict.cosigned_at,
                        ),
                    )
                elif verdict.evidence:
                    _keep_refusal(conn, origin, now, verdict, request)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return verdict


def _held(conn: sqlite3.Connection, origin: str) -> Held | None:
    row = conn.execute(
        "SELECT tree_size, root_hash, note, cosigned_at FROM checkpoints WHERE origin = ?",
        (origin,),
    ).fetchone()
    if row is None:
        return None
    size, root, note, cosigned_at = row
    return Held(origin, size, bytes(root), note, cosigned_at)


def _keep_refusal(
    conn: sqlite3.Connection, origin: str, now: int, refusal: Refusal, request: bytes
) -> None:
    conn.execute(
        "INSERT INTO refusals (origin, received_at, status, reason, request) VALUES (?,?,?,?,?)",
        (origin, now, refusal.status, refusal.reason, request),
    )
    # Bounded: only the log's own key can add rows, but keep the table small anyway.
    conn.execute(
        "DELETE FROM refusals WHERE origin = ? AND id <= (SELECT id FROM refusals "
        "WHERE origin = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
        (origin, origin, KEPT_REFUSALS),
    )
