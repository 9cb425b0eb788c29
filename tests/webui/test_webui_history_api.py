"""The JSON the verifying pages read: ``/api/verifiers`` (the ledger's note
verifier keys and witness policy) and ``/api/checkpoints`` (the history of
signed checkpoints with their stored cosignatures, a page at a time). What it
serves verifies offline with the ledger format's own verifiers."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import default_origin, open_checkpoint, verifier_key
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, cosign, verify_cosignatures
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.store import Connection, admit_entry, seal_batch, tree_head_at
from guestbook_ledger.store.witnesses import record_cosignatures, set_witness_policy
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"


def seal(store: Connection, ledger: str, signer: Ed25519PrivateKey, names: list[str]) -> int:
    for name in names:
        admit_entry(store, ledger, entry=name, uid=f"uid-{name}", author="", message=name,
                    submitted_at="2026-11-25T12:00:00Z")  # fmt: skip
    return seal_batch(store, ledger, signer).tree_head.tree_size


def test_verifiers_name_the_ledger_key_and_the_witness_policy(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    body = client.get("/api/verifiers").json()
    origin = default_origin(ledger)
    assert body == {
        "ledger": ledger,
        "origin": origin,
        "verifierKeys": [verifier_key(origin, signer.public_key())],
        "witnessPolicy": None,
    }
    witness = Cosigner.for_key("witness.test/w", Ed25519PrivateKey.generate().public_key())
    entry = {"name": witness.name, "verifierKey": witness.to_text(), "url": "https://w.test/"}
    set_witness_policy(store, ledger, quorum=1, witnesses=[entry])
    policy = client.get("/api/verifiers").json()["witnessPolicy"]
    assert policy == {"version": 1, "quorum": 1, "witnesses": [entry]}


def test_checkpoint_history_pages_verify_with_their_cosignatures(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    sizes = [seal(store, ledger, signer, [f"e{i}-{j}" for j in range(i + 1)]) for i in range(4)]
    assert sizes == [1, 3, 6, 10]
    witness_key = Ed25519PrivateKey.generate()
    witness = Cosigner.for_key("witness.test/w", witness_key.public_key())
    head = tree_head_at(store, ledger, 6)
    assert head is not None and hasattr(head, "text")
    now = int(time.time())
    line = cosign(witness_key, witness.name, head.text(), now).to_line()
    record_cosignatures(store, ledger, 6, [Cosignature(witness, now, line)])

    first = client.get("/api/checkpoints?limit=3").json()
    assert [item["treeSize"] for item in first["items"]] == [10, 6, 3]
    assert first["next"] == 3
    rest = client.get(f"/api/checkpoints?limit=3&below={first['next']}").json()
    assert [item["treeSize"] for item in rest["items"]] == [1]
    assert rest["next"] is None
    assert [i["treeSize"] for i in client.get("/api/checkpoints").json()["items"]] == [10, 6, 3, 1]

    verifier = NoteVerifier.from_text(client.get("/api/verifiers").json()["verifierKeys"][0])
    for item in first["items"] + rest["items"]:
        assert item["format"] == "checkpoint"
        opened = open_checkpoint(item["note"], verifier)
        assert (opened.tree_size, opened.root_hash.hex()) == (item["treeSize"], item["rootHash"])
        cosigned = verify_cosignatures(item["note"], [witness])
        assert [c.timestamp for c in cosigned] == ([now] if item["treeSize"] == 6 else [])


def test_bad_history_parameters_are_problems(client: TestClient, signer: Ed25519PrivateKey) -> None:
    for query, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("below=-1", "below")):
        response = client.get(f"/api/checkpoints?{query}")
        assert response.status_code == 400, query
        assert response.headers["content-type"] == PROBLEM
        assert field in response.json()["detail"]
