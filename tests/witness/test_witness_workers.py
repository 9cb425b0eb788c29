"""The workers' witnessing (guestbook_operator.witnessing, on a real PostgreSQL
ledger) with our own witness as the Ledger's witness: real seals are cosigned after
real consistency proofs, and publication waits for the cosignature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    ensure_ledger,
    latest_checkpoint,
    seal_batch,
)
from guestbook_ledger.store.witnesses import published_checkpoint, set_witness_policy
from guestbook_operator.witnessing import witness_round
from witness_process import ServingWitness, init_witness, serving

LEDGER = "default/guestbook"
ORIGIN = "ledger.guestbook.io/default/guestbook"


@pytest.fixture
def conn(store: Connection) -> Connection:
    """The test database's connection (``store``, tests/store_fixtures.py)."""
    return store


@pytest.fixture
def signer(conn: Connection) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    ensure_ledger(conn, LEDGER, public_key=key.public_key())
    return key


def admit(conn: Connection, start: int, count: int) -> None:
    admit_entries(conn, LEDGER, [
        NewEntry(entry=f"entry-{i}", uid=f"uid-{i}", author="Ada", message=f"Message {i}",
                 submitted_at="2026-12-06T22:00:00Z")
        for i in range(start, start + count)
    ])  # fmt: skip


@pytest.fixture
def witness(
    tmp_path: Path, conn: Connection, signer: Ed25519PrivateKey
) -> Iterator[ServingWitness]:
    state = tmp_path / "state"
    init_witness(state, "witness.test/ours")
    head_vkey = NoteVerifier.for_key(ORIGIN, signer.public_key()).to_text()
    with serving(state, "--log", head_vkey) as running:
        yield running


def test_workers_get_real_seals_cosigned_by_our_witness(
    conn: Connection, signer: Ed25519PrivateKey, witness: ServingWitness
) -> None:
    cosigner = Cosigner.from_text(witness.vkey)
    set_witness_policy(
        conn,
        LEDGER,
        quorum=1,
        witnesses=[{"name": cosigner.name, "verifierKey": witness.vkey, "url": witness.url}],
    )
    admit(conn, 0, 6)
    seal_batch(conn, LEDGER, signer)
    head = latest_checkpoint(conn, LEDGER)
    assert head is not None and head.origin == ORIGIN
    assert published_checkpoint(conn, LEDGER) is None  # not cosigned yet

    [outcome] = witness_round(conn, LEDGER, timeout=30)
    assert (outcome.name, outcome.cosigned, outcome.tree_size) == (cosigner.name, True, 6)
    published = published_checkpoint(conn, LEDGER)
    assert published is not None and published.checkpoint.tree_size == 6
    note = published.note()
    assert open_checkpoint(note, NoteVerifier.for_key(ORIGIN, signer.public_key())).tree_size == 6
    assert [c.cosigner for c in verify_cosignatures(note, [cosigner])] == [cosigner]

    # Two more seals; one round brings the witness from 6 to 13 with a real proof.
    admit(conn, 6, 3)
    seal_batch(conn, LEDGER, signer)
    admit(conn, 9, 4)
    seal_batch(conn, LEDGER, signer)
    [outcome] = witness_round(conn, LEDGER, timeout=30)
    assert (outcome.cosigned, outcome.tree_size) == (True, 13)
    published = published_checkpoint(conn, LEDGER)
    assert published is not None and published.checkpoint.tree_size == 13
