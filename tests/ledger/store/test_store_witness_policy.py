"""Witness policies are versioned and validated; without a policy (or with quorum 0)
the newest checkpoint is published; cosignatures are append-only."""

from __future__ import annotations

from collections.abc import Callable

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, cosign
from guestbook_ledger.store import Connection, latest_checkpoint, open_store, seal_batch
from guestbook_ledger.store.witnesses import (
    WitnessPolicyError,
    published_checkpoint,
    record_cosignatures,
    set_witness_policy,
    witness_policy,
    witness_round_lock,
)

KEY = Ed25519PrivateKey.generate()
COSIGNER = Cosigner.for_key("w.example/1", KEY.public_key())
ENTRY = {"name": COSIGNER.name, "verifierKey": COSIGNER.to_text(), "url": "http://127.0.0.1:9"}


def test_policies_are_versioned_and_validated(conn: Connection, ledger: str) -> None:
    assert witness_policy(conn, ledger) is None
    first = set_witness_policy(conn, ledger, quorum=1, witnesses=[ENTRY])
    assert first.version == 1 and first.witnesses[0].cosigner == COSIGNER
    assert set_witness_policy(conn, ledger, quorum=1, witnesses=[ENTRY]).version == 1
    assert set_witness_policy(conn, ledger, quorum=0, witnesses=[ENTRY]).version == 2
    with pytest.raises(WitnessPolicyError, match="quorum"):
        set_witness_policy(conn, ledger, quorum=2, witnesses=[ENTRY])
    with pytest.raises(WitnessPolicyError, match="witness 0"):
        set_witness_policy(conn, ledger, quorum=0, witnesses=[dict(ENTRY, verifierKey="x")])
    with pytest.raises(WitnessPolicyError, match="distinct"):
        set_witness_policy(conn, ledger, quorum=0, witnesses=[ENTRY, ENTRY])
    with pytest.raises(WitnessPolicyError, match="url"):
        set_witness_policy(conn, ledger, quorum=0, witnesses=[dict(ENTRY, url="ftp://x")])
    policy = witness_policy(conn, ledger)
    assert policy is not None and policy.version == 2


def test_quorum_zero_publishes_the_newest_with_its_cosignatures(
    conn: Connection, ledger: str, signer: Ed25519PrivateKey, admit: Callable[[int], None]
) -> None:
    admit(2)
    seal_batch(conn, ledger, signer)
    published = published_checkpoint(conn, ledger)
    assert published is not None and published.cosignature_lines == ()
    set_witness_policy(conn, ledger, quorum=0, witnesses=[ENTRY])
    head = latest_checkpoint(conn, ledger)
    assert head is not None
    line = cosign(KEY, COSIGNER.name, head.text(), 1_700_000_000).to_line()
    record_cosignatures(conn, ledger, head.tree_size, [Cosignature(COSIGNER, 1_700_000_000, line)])
    published = published_checkpoint(conn, ledger)
    assert published is not None
    assert published.note() == head.note() + line
    with pytest.raises(psycopg2.Error, match="append-only"), conn, conn.cursor() as cur:
        cur.execute("DELETE FROM cosignatures")


def test_one_witness_round_per_ledger_at_a_time(
    conn: Connection, ledger: str, ledger_dsn: str
) -> None:
    other = open_store(ledger_dsn)
    try:
        with witness_round_lock(conn, ledger, wait=False) as first:
            assert first
            with witness_round_lock(other, ledger, wait=False) as second:
                assert not second  # a worker's round runs: the operator skips its tick
        with witness_round_lock(other, ledger, wait=True) as third:
            assert third
    finally:
        other.close()
