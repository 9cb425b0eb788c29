"""Tree heads become checkpoints without losing the past: a ledger sealed under
schema version 1 (JSON tree heads) is migrated, keeps its JSON heads verifiable
and distinguishable, gets the default origin, and signs checkpoints from its next
seal on; the audit checks both kinds and their consistency. Origins are fixed."""

from __future__ import annotations

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import SignedCheckpoint, verify_checkpoint
from guestbook_ledger.format.hashing import leaf_hash, node_hash
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.format.sth import SignedTreeHead, key_id, sign_tree_head, verify_tree_head
from guestbook_ledger.format.tree import root_hash
from guestbook_ledger.store import (
    NewEntry,
    OriginError,
    admit_entries,
    audit_ledger,
    connect,
    ensure_ledger,
    latest_checkpoint,
    latest_tree_head,
    migrate,
    seal_batch,
    tree_head_at,
)
from guestbook_ledger.store.schema import migrations

LEDGER = "default/guestbook"
SUBMITTED = "2026-11-25T12:00:00Z"


def _record(i: int) -> bytes:
    return entry_record(
        ledger=LEDGER,
        entry=f"entry-{i}",
        uid=f"uid-{i}",
        author=f"Author {i}",
        message=f"Message {i}",
        submitted_at="2026-11-25T12:00:00Z",
    )


def _version_1_ledger(dsn: str, signer: Ed25519PrivateKey) -> list[SignedTreeHead]:
    """A ledger of 3 entries with JSON tree heads at sizes 2 and 3, written as the
    version-1 schema and code stored them."""
    conn = psycopg2.connect(dsn)
    first = migrations()[0]
    assert first.version == 1
    leaves = [leaf_hash(_record(i)) for i in range(3)]
    heads = [
        sign_tree_head(
            signer, ledger=LEDGER, tree_size=size, root_hash=root_hash(leaves[:size]), timestamp=t
        )
        for size, t in ((2, "2026-11-25T12:00:01Z"), (3, "2026-11-25T12:00:02Z"))
    ]
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE schema_migrations (version integer PRIMARY KEY, title text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute(first.sql)
            cur.execute("INSERT INTO schema_migrations VALUES (1, %s)", (first.title,))
            cur.execute(
                "INSERT INTO ledgers (namespace, name, next_seq) VALUES ('default', 'guestbook', 3)"
                " RETURNING id"
            )
            row = cur.fetchone()
            assert row is not None
            ledger_id = row[0]
            public = signer.public_key()
            cur.execute(
                "INSERT INTO ledger_keys (ledger_id, key_id, public_key) VALUES (%s, %s, %s)",
                (ledger_id, bytes.fromhex(key_id(public)), public.public_bytes_raw()),
            )
            for i in range(3):
                cur.execute(
                    "INSERT INTO entries (ledger_id, seq, uid, entry_name, author, message,"
                    " submitted_at, record, state, leaf_hash, leaf_index, sealed_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'sealed', %s, %s, now())",
                    (
                        ledger_id,
                        i,
                        f"uid-{i}",
                        f"entry-{i}",
                        f"Author {i}",
                        f"Message {i}",
                        "2026-11-25T12:00:00Z",
                        _record(i),
                        leaves[i],
                        i,
                    ),
                )
            cur.execute(
                "INSERT INTO tree_nodes (ledger_id, level, node_index, hash) VALUES (%s, 1, 0, %s)",
                (ledger_id, node_hash(leaves[0], leaves[1])),
            )
            for head in heads:
                cur.execute(
                    "INSERT INTO tree_heads (ledger_id, tree_size, root_hash, signed_at, key_id,"
                    " signature) VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        ledger_id,
                        head.tree_size,
                        head.root_hash,
                        head.timestamp,
                        bytes.fromhex(head.key_id),
                        head.signature,
                    ),
                )
    finally:
        conn.close()
    return heads


def test_old_json_heads_stay_verifiable_and_new_seals_sign_checkpoints(
    empty_database_dsn: str,
) -> None:
    signer = Ed25519PrivateKey.generate()
    old_heads = _version_1_ledger(empty_database_dsn, signer)
    conn = connect(empty_database_dsn)
    try:
        assert migrate(conn) == [m.version for m in migrations()][1:]
        # The v1 heads read back exactly as signed, as JSON heads, and verify.
        assert tree_head_at(conn, LEDGER, 2) == old_heads[0]
        latest = latest_tree_head(conn, LEDGER)
        assert latest == old_heads[1]
        assert isinstance(latest, SignedTreeHead)
        verify_tree_head(latest, signer.public_key())
        assert latest_checkpoint(conn, LEDGER) is None
        # The ledger got the default origin; sealing goes on with checkpoints.
        found = ensure_ledger(conn, LEDGER, public_key=signer.public_key())
        assert found.origin == "ledger.guestbook.io/default/guestbook"
        admit_entries(
            conn,
            LEDGER,
            [
                NewEntry(
                    f"entry-{i}", f"uid-{i}", f"Author {i}", f"Message {i}", "2026-11-25T12:00:00Z"
                )
                for i in range(3, 5)
            ],
        )
        new = seal_batch(conn, LEDGER, signer).tree_head
        assert isinstance(new, SignedCheckpoint)
        assert new.tree_size == 5
        assert new.root_hash == root_hash([leaf_hash(_record(i)) for i in range(5)])
        assert new.origin == found.origin
        verify_checkpoint(new, signer.public_key())
        assert latest_checkpoint(conn, LEDGER) == new
        with conn, conn.cursor() as cur:
            cur.execute("SELECT tree_size, format FROM tree_heads ORDER BY tree_size")
            assert cur.fetchall() == [(2, "sth-json-v1"), (3, "sth-json-v1"), (5, "checkpoint")]
        # The audit checks both kinds of head and the consistency across the change.
        report = audit_ledger(conn, LEDGER)
        assert report.ok, report.mismatches
        assert report.heads_checked == 3
    finally:
        conn.close()


def test_the_origin_is_fixed_once_the_ledger_exists(ledger_dsn: str) -> None:
    conn = connect(ledger_dsn)
    try:
        created = ensure_ledger(conn, "team/book", origin="book.example/team")
        assert created.origin == "book.example/team"
        assert ensure_ledger(conn, "team/book").origin == "book.example/team"
        assert ensure_ledger(conn, "team/book", origin="book.example/team") == created
        with pytest.raises(OriginError, match="never changes"):
            ensure_ledger(conn, "team/book", origin="other.example/team")
        with pytest.raises(OriginError, match="not usable"):
            ensure_ledger(conn, "team/spaced", origin="has space")
        with pytest.raises(psycopg2.Error, match="append-only"), conn, conn.cursor() as cur:
            cur.execute("UPDATE ledgers SET origin = 'x.example' WHERE name = 'book'")
    finally:
        conn.close()


def test_checkpoints_name_the_ledgers_origin(ledger_dsn: str) -> None:
    conn = connect(ledger_dsn)
    signer = Ed25519PrivateKey.generate()
    try:
        ensure_ledger(conn, "team/book", public_key=signer.public_key(), origin="book.example/t")
        head = seal_batch(conn, "team/book", signer).tree_head
        assert isinstance(head, SignedCheckpoint)
        assert head.note().startswith("book.example/t\n0\n")
        assert "\n\n\u2014 book.example/t " in head.note()
    finally:
        conn.close()
