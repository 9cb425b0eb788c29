"""The audit recomputes the ledger from its entries and names every kind of damage.

Damage is made the only way it can be: as the superuser with triggers switched
off (session_replication_role = replica), as an attacker with the server would.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store import (
    Connection,
    MismatchKind,
    UnknownLedgerError,
    audit_ledger,
    ensure_ledger,
    seal_batch,
)

Admit = Callable[[int], None]
Tamper = Callable[..., None]


@pytest.fixture
def sealed(conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Admit) -> str:
    """Ledger with 20 sealed entries over heads at sizes 0, 7, 12, 20; 3 pending."""
    seal_batch(conn, ledger, signer)
    for count in (7, 5, 8):
        admit(count)
        seal_batch(conn, ledger, signer)
    admit(3)
    return ledger


@pytest.fixture
def tamper(conn: Connection) -> Tamper:
    def run(statement: str, *args: object) -> None:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute(statement, args)

    return run


def _kinds(conn: Connection, ledger: str) -> list[MismatchKind]:
    return [m.kind for m in audit_ledger(conn, ledger, chunk_size=3).mismatches]


def test_an_intact_ledger_passes(conn: Connection, sealed: str) -> None:
    checked: list[int] = []
    report = audit_ledger(conn, sealed, chunk_size=6, progress=checked.append)
    assert report.ok, report.mismatches
    assert (report.entries_checked, report.heads_checked) == (20, 4)
    assert report.nodes_checked == 20 - (20).bit_count()
    assert checked == [6, 12, 18, 20]


def test_an_edited_message_is_named_by_entry_uid_and_leaf_index(
    conn: Connection, sealed: str, tamper: Tamper
) -> None:
    tamper("UPDATE entries SET message = 'I never wrote this' WHERE uid = 'uid-9'")
    report = audit_ledger(conn, sealed, chunk_size=4)
    assert [
        (m.kind, m.entry_name, m.uid, m.leaf_index, m.tree_size) for m in report.mismatches
    ] == [
        (MismatchKind.RECORD, "entry-9", "uid-9", 9, None),
        # The signed heads covering leaf 9 no longer match what the entries say.
        (MismatchKind.HEAD_ROOT, None, None, None, 12),
        (MismatchKind.HEAD_ROOT, None, None, None, 20),
    ]
    assert "'entry-9' (uid uid-9, leaf index 9)" in report.mismatches[0].description
    assert "follows from the damage at leaf 9" in report.mismatches[2].description


def test_a_consistently_rewritten_entry_breaks_the_signed_heads(
    conn: Connection, sealed: str, tamper: Tamper
) -> None:
    # Rewrite fields, record and leaf hash together: the entry itself looks fine,
    # but the stored node above it and every later signed root no longer match.
    forged = entry_record(
        ledger=sealed,
        entry="entry-9",
        uid="uid-9",
        author="Author 9",
        message="forged",
        submitted_at="2026-11-25T11:26:32Z",
    )
    tamper(
        "UPDATE entries SET message = 'forged', record = %s, leaf_hash = %s WHERE uid = 'uid-9'",
        forged,
        leaf_hash(forged),
    )
    report = audit_ledger(conn, sealed, chunk_size=5)
    found = [(m.kind, m.leaf_index, m.tree_size) for m in report.mismatches]
    assert found == [
        (MismatchKind.NODE, 8, None),  # level 1 node over leaves [8, 10): where damage starts
        (MismatchKind.HEAD_ROOT, None, 12),
        (MismatchKind.HEAD_ROOT, None, 20),
    ]
    assert "tree head at size 12" in report.mismatches[1].description


def test_a_forged_root_is_caught_by_its_signature_and_by_recomputation(
    conn: Connection, sealed: str, tamper: Tamper
) -> None:
    tamper("UPDATE tree_heads SET root_hash = sha256('forged') WHERE tree_size = 12")
    report = audit_ledger(conn, sealed)
    assert [(m.kind, m.tree_size) for m in report.mismatches] == [
        (MismatchKind.HEAD_SIGNATURE, 12),
        (MismatchKind.HEAD_ROOT, 12),
        (MismatchKind.CONSISTENCY, 12),
        (MismatchKind.CONSISTENCY, 20),
    ]


def test_missing_nodes_and_leaves_are_named(conn: Connection, sealed: str, tamper: Tamper) -> None:
    tamper("DELETE FROM tree_nodes WHERE level = 2 AND node_index = 1")
    tamper("DELETE FROM entries WHERE uid = 'uid-15'")
    report = audit_ledger(conn, sealed, chunk_size=4)
    kinds = [m.kind for m in report.mismatches]
    assert kinds[0] == MismatchKind.NODE_MISSING
    assert "level 2, index 1 (leaves [4, 8))" in report.mismatches[0].description
    gap = report.mismatches[1]
    assert (gap.kind, gap.uid, gap.leaf_index) == (MismatchKind.LEAF_GAP, "uid-16", 16)
    assert "leaf indexes 15 to 15 are missing" in gap.description
    assert MismatchKind.HEAD_BEYOND in kinds  # 19 leaves remain under a head of 20


def test_unsigned_leaves_and_stray_nodes_are_named(
    conn: Connection, sealed: str, tamper: Tamper
) -> None:
    tamper("DELETE FROM tree_heads WHERE tree_size = 20")
    tamper(
        "INSERT INTO tree_nodes (ledger_id, level, node_index, hash)"
        " SELECT id, 3, 5, sha256('stray') FROM ledgers"
    )
    report = audit_ledger(conn, sealed)
    assert [(m.kind, m.leaf_index) for m in report.mismatches] == [
        (MismatchKind.UNSIGNED, 12),
        (MismatchKind.NODE_EXTRA, 40),
    ]


def test_a_head_signed_by_an_unregistered_key_is_named(
    conn: Connection, sealed: str, signer: Ed25519PrivateKey, tamper: Tamper
) -> None:
    tamper("DELETE FROM ledger_keys")
    assert _kinds(conn, sealed) == [MismatchKind.HEAD_SIGNATURE] * 4


def test_auditing_an_unknown_ledger_is_a_clear_error(conn: Connection) -> None:
    ensure_ledger(conn, "default/other")
    assert audit_ledger(conn, "default/other").ok
    with pytest.raises(UnknownLedgerError, match="no ledger 'default/absent'"):
        audit_ledger(conn, "default/absent")
