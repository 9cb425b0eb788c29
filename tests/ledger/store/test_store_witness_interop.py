"""A witness written by others cosigns real checkpoints of a stored ledger, and
publication follows the witness policy:
litewitness (filippo.io/torchwood) accepts our checkpoints and consistency
proofs over C2SP tlog-witness, its cosignature/v1 lines verify, a stale old
size is answered with 409 and resent from the witness's size, and a forged
split view (another checkpoint of the same size, signed with the ledger key)
is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import (
    SignedCheckpoint,
    open_checkpoint,
    sign_checkpoint,
    verifier_key,
)
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.store import Connection, consistency_proof, latest_checkpoint, seal_batch
from guestbook_ledger.store.witnesses import (
    published_checkpoint,
    set_witness_policy,
    witnessed_size,
)
from guestbook_operator.witness_client import WitnessError, submit_checkpoint
from guestbook_operator.witnessing import witness_round
from litewitness import RunningWitness, build_litewitness, litewitness

ORIGIN = "ledger.guestbook.io/default/guestbook"
DOWN_URL = "http://127.0.0.1:9"  # nothing listens on the discard port


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_litewitness(tmp_path_factory.mktemp("litewitness-bin"))


@pytest.fixture
def witness(
    binaries: tuple[Path, Path], signer: Ed25519PrivateKey, ledger: str
) -> Iterator[RunningWitness]:
    # A short folder: ssh-agent's socket path must stay under 108 bytes.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lw-") as folder:
        vkey = verifier_key(ORIGIN, signer.public_key())
        with litewitness(binaries, Path(folder), origin=ORIGIN, log_vkey=vkey) as running:
            yield running


def _checkpoint(conn: Connection, ledger: str) -> SignedCheckpoint:
    head = latest_checkpoint(conn, ledger)
    assert head is not None
    return head


def test_litewitness_cosigns_our_checkpoints_and_refuses_a_split_view(
    conn: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    admit: Callable[[int], None],
    witness: RunningWitness,
) -> None:
    cosigner = Cosigner.for_key(witness.name, witness.key.public_key())

    def proof_from(size: int) -> Callable[[int], list[bytes]]:
        return lambda old: consistency_proof(conn, ledger, old, size)

    admit(5)
    seal_batch(conn, ledger, signer)
    first = _checkpoint(conn, ledger)
    result = submit_checkpoint(witness.url, cosigner, first.note(), proof_from(5))
    assert [c.cosigner.name for c in result.cosignatures] == [witness.name]
    assert result.cosignatures[0].line.startswith(f"\u2014 {witness.name} ")

    admit(5)
    seal_batch(conn, ledger, signer)
    second = _checkpoint(conn, ledger)
    assert second.tree_size == 10
    # We claim the witness holds nothing: it answers 409 with size 5, and the
    # client resends with the consistency proof from 5.
    result = submit_checkpoint(witness.url, cosigner, second.note(), proof_from(10))
    assert result.old_size == 5
    assert len(result.cosignatures) == 1

    # A split view: another tree of size 10, signed with the ledger's own key.
    forged = sign_checkpoint(
        signer,
        ledger=ledger,
        origin=ORIGIN,
        tree_size=10,
        root_hash=hashlib.sha256(b"another history").digest(),
        timestamp="2026-11-25T12:00:00Z",
    )
    with pytest.raises(WitnessError) as same_size:
        submit_checkpoint(witness.url, cosigner, forged.note(), proof_from(10), old_size=10)
    # tlog-witness asks for 409 here; litewitness v0.6.1 checks the (empty) proof
    # first and answers 422. Either way nothing is cosigned.
    assert same_size.value.status in (409, 422), same_size.value
    admit(2)
    seal_batch(conn, ledger, signer)
    bigger_forged = sign_checkpoint(
        signer,
        ledger=ledger,
        origin=ORIGIN,
        tree_size=12,
        root_hash=hashlib.sha256(b"another history").digest(),
        timestamp="2026-11-25T12:00:00Z",
    )
    # The real proof from 10 to 12 does not lead to the forged root: 422.
    with pytest.raises(WitnessError) as unproven:
        submit_checkpoint(witness.url, cosigner, bigger_forged.note(), proof_from(12), old_size=10)
    assert unproven.value.kind == "refused" and unproven.value.status == 422

    # A checkpoint signed by another key is refused (403).
    stranger = sign_checkpoint(
        Ed25519PrivateKey.generate(),
        ledger=ledger,
        origin=ORIGIN,
        tree_size=12,
        root_hash=_checkpoint(conn, ledger).root_hash,
        timestamp="2026-11-25T12:00:00Z",
    )
    with pytest.raises(WitnessError) as unknown_key:
        submit_checkpoint(witness.url, cosigner, stranger.note(), proof_from(12), old_size=10)
    assert unknown_key.value.status == 403


def test_publication_waits_for_the_quorum_and_carries_the_cosignatures(
    conn: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    admit: Callable[[int], None],
    witness: RunningWitness,
) -> None:
    cosigner = Cosigner.for_key(witness.name, witness.key.public_key())
    unreachable = Cosigner.for_key("down.example/w", Ed25519PrivateKey.generate().public_key())
    set_witness_policy(
        conn,
        ledger,
        quorum=1,
        witnesses=[
            {"name": witness.name, "verifierKey": cosigner.to_text(), "url": witness.url},
            {"name": unreachable.name, "verifierKey": unreachable.to_text(), "url": DOWN_URL},
        ],
    )
    admit(4)
    seal_batch(conn, ledger, signer)
    assert published_checkpoint(conn, ledger) is None  # nothing cosigned yet

    outcomes = {o.name: o for o in witness_round(conn, ledger, timeout=2)}
    assert outcomes[witness.name].cosigned and outcomes[witness.name].tree_size == 4
    assert outcomes[unreachable.name].error == "unreachable"
    published = published_checkpoint(conn, ledger)
    assert published is not None and published.checkpoint.tree_size == 4
    note = published.note()
    verifier = NoteVerifier.for_key(ORIGIN, signer.public_key())
    assert open_checkpoint(note, verifier).tree_size == 4
    assert [c.cosigner.name for c in verify_cosignatures(note, [cosigner])] == [witness.name]

    # A new seal is not published before the witness cosigned it; sealing went on.
    admit(3)
    assert seal_batch(conn, ledger, signer).tree_head.tree_size == 7
    still = published_checkpoint(conn, ledger)
    assert still is not None and still.checkpoint.tree_size == 4
    witness_round(conn, ledger, timeout=2)
    after = published_checkpoint(conn, ledger)
    assert after is not None and after.checkpoint.tree_size == 7
    assert witnessed_size(conn, ledger, cosigner) == 7


def test_a_lost_answer_is_recovered_from_the_witness_size(
    conn: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    admit: Callable[[int], None],
    witness: RunningWitness,
) -> None:
    cosigner = Cosigner.for_key(witness.name, witness.key.public_key())
    entry = {"name": witness.name, "verifierKey": cosigner.to_text(), "url": witness.url}
    set_witness_policy(conn, ledger, quorum=1, witnesses=[entry])
    admit(6)
    seal_batch(conn, ledger, signer)
    head = _checkpoint(conn, ledger)
    # The witness cosigns size 6, but the answer never reaches the store.
    submit_checkpoint(witness.url, cosigner, head.note(), lambda old: [])
    assert witnessed_size(conn, ledger, cosigner) == 0
    # The next round sends "old 0"; litewitness answers 409 with 6, the checkpoint's
    # own size: resent from 6 with an empty proof, it cosigns the same checkpoint again.
    (outcome,) = witness_round(conn, ledger, timeout=5)
    assert (outcome.cosigned, outcome.error, outcome.tree_size) == (True, "", 6)
    assert outcome.timestamp is not None and outcome.received_at is not None
    published = published_checkpoint(conn, ledger)
    assert published is not None and published.checkpoint.tree_size == 6
