"""`guestbook-ledger audit`: 0 with a summary, 1 naming every mismatch, 2 when it cannot run."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_cli.dispatch import main
from guestbook_ledger.store import NewEntry, admit_entries, ensure_ledger, open_store, seal_batch

LEDGER = "default/guestbook"


@pytest.fixture
def sealed_dsn(ledger_dsn: str) -> str:
    """A database whose ledger default/guestbook has 5 sealed entries."""
    signer = Ed25519PrivateKey.generate()
    conn = open_store(ledger_dsn)
    try:
        ensure_ledger(conn, LEDGER, public_key=signer.public_key())
        admit_entries(
            conn,
            LEDGER,
            [
                NewEntry(f"entry-{i}", f"uid-{i}", "Ada", f"hello {i}", "2026-11-25T11:26:32Z")
                for i in range(5)
            ],
        )
        seal_batch(conn, LEDGER, signer)
    finally:
        conn.close()
    return ledger_dsn


def test_an_intact_ledger_exits_0_with_a_summary(
    sealed_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--dsn", sealed_dsn, "--ledger", LEDGER]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "ledger default/guestbook is intact: 5 sealed entries, 1 signed tree head"
    )


def test_damage_exits_1_naming_every_mismatch(
    sealed_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = open_store(sealed_dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")
            cur.execute("UPDATE entries SET author = 'Mallory' WHERE uid IN ('uid-1', 'uid-3')")
    finally:
        conn.close()
    assert main(["audit", "--dsn", sealed_dsn, "--ledger", LEDGER]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ledger default/guestbook FAILED the audit: 3 mismatches")
    assert "[record] entry 'entry-1' (uid uid-1, leaf index 1)" in lines[1]
    assert "[record] entry 'entry-3' (uid uid-3, leaf index 3)" in lines[2]
    assert "[head-root] the signed tree head at size 5" in lines[3]


@pytest.mark.parametrize(
    ("ledger", "complaint"),
    [
        ("default/absent", "There is no ledger 'default/absent' in this database"),
        ("no-slash", "a ledger is named <namespace>/<name>"),
    ],
)
def test_an_unknown_or_malformed_ledger_exits_2_with_a_sentence(
    sealed_dsn: str, ledger: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--dsn", sealed_dsn, "--ledger", ledger]) == 2
    captured = capsys.readouterr()
    assert complaint in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("dsn", "complaint"),
    [
        ("host=127.0.0.1 port", "is not a valid PostgreSQL DSN"),
        ("postgresql://postgres@127.0.0.1:1/ledger", "Cannot connect to the ledger database"),
    ],
)
def test_a_bad_dsn_or_unreachable_database_exits_2_with_a_sentence(
    dsn: str, complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--dsn", dsn, "--ledger", LEDGER]) == 2
    err = capsys.readouterr().err
    assert complaint in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_database_without_a_ledger_store_exits_2(
    empty_database_dsn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "--dsn", empty_database_dsn, "--ledger", LEDGER]) == 2
    assert "holds no ledger store" in capsys.readouterr().err
