"""The web UI serves tree heads, proofs and the signing key from the ledger database,
and what it serves verifies with the ledger format's own verifiers, offline."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.format.proof import verify_consistency, verify_inclusion
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.format.sth import load_public_key_pem
from guestbook_ledger.store import Connection, admit_entry, seal_batch
from starlette.applications import Starlette
from starlette.testclient import TestClient
from webui_server import ready_client

PROBLEM = "application/problem+json"


def admit_and_seal(
    store: Connection, ledger: str, signer: Ed25519PrivateKey, start: int, count: int
) -> None:
    for i in range(start, start + count):
        admit_entry(
            store,
            ledger,
            entry=f"entry-{i}",
            uid=f"uid-{i}",
            author=f"Author {i}",
            message=f"Message {i}",
            submitted_at="2026-11-25T12:00:00Z",
        )
    seal_batch(store, ledger, signer)


def leaf(ledger: str, i: int) -> bytes:
    record = entry_record(
        ledger=ledger,
        entry=f"entry-{i}",
        uid=f"uid-{i}",
        author=f"Author {i}",
        message=f"Message {i}",
        submitted_at="2026-11-25T12:00:00Z",
    )
    return hashlib.sha256(b"\x00" + record).digest()


def test_served_proofs_and_tree_heads_verify(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    admit_and_seal(store, ledger, signer, 0, 7)
    first = client.get("/api/ledger").json()
    admit_and_seal(store, ledger, signer, 7, 6)

    latest = client.get("/api/ledger").json()
    assert latest["ledger"] == ledger
    assert latest["treeSize"] == 13
    served = latest["signedTreeHead"]
    assert served["format"] == "checkpoint"
    assert (served["treeSize"], served["rootHash"]) == (13, latest["rootHash"])

    key = client.get("/api/public-key")
    assert key.status_code == 200
    assert key.headers["content-type"].startswith("application/x-pem-file")
    public_key = load_public_key_pem(key.content)
    head = open_checkpoint(served["checkpoint"], NoteVerifier.for_key(served["origin"], public_key))
    assert head.root_hash.hex() == latest["rootHash"]

    for index in range(13):
        proof = client.get(f"/api/proofs/inclusion?index={index}&size=13").json()
        assert proof["rootHash"] == latest["rootHash"]
        assert proof["signedTreeHead"] == latest["signedTreeHead"]
        verify_inclusion(
            leaf_hash=leaf(ledger, index),
            index=index,
            size=13,
            proof=[bytes.fromhex(h) for h in proof["proof"]],
            root=head.root_hash,
        )
    # Without size: the latest signed tree.
    assert client.get("/api/proofs/inclusion?index=3").json()["treeSize"] == 13
    # An older signed size still proves against its own root.
    old = client.get("/api/proofs/inclusion?index=2&size=7").json()
    assert old["rootHash"] == first["rootHash"]
    verify_inclusion(
        leaf_hash=leaf(ledger, 2),
        index=2,
        size=7,
        proof=[bytes.fromhex(h) for h in old["proof"]],
        root=bytes.fromhex(first["rootHash"]),
    )

    consistency = client.get("/api/proofs/consistency?from=7&to=13").json()
    assert consistency["fromRootHash"] == first["rootHash"]
    assert consistency["toRootHash"] == latest["rootHash"]
    verify_consistency(
        size1=7,
        size2=13,
        proof=[bytes.fromhex(h) for h in consistency["proof"]],
        root1=bytes.fromhex(first["rootHash"]),
        root2=head.root_hash,
    )
    # Without to (or with it empty): up to the latest signed tree.
    for url in ("/api/proofs/consistency?from=7", "/api/proofs/consistency?from=7&to="):
        assert client.get(url).json() == consistency


def test_bad_proof_requests_are_problem_details(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    admit_and_seal(store, ledger, signer, 0, 3)
    cases = {
        "/api/proofs/inclusion": 400,  # index missing
        "/api/proofs/inclusion?index=-1": 400,
        "/api/proofs/inclusion?index=abc": 400,
        "/api/proofs/inclusion?index=3&size=3": 400,  # index outside the tree
        "/api/proofs/inclusion?index=0&size=4": 400,  # beyond the signed tree
        "/api/proofs/consistency?from=0&to=3": 400,
        "/api/proofs/consistency?from=3&to=2": 400,
        "/api/public-key?keyId=00": 404,
        "/api/entries?limit=0": 400,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"] == PROBLEM, url
        assert response.json()["detail"], url


def test_a_ledger_not_yet_in_the_database_is_a_404_problem(
    client: TestClient, store: Connection
) -> None:
    response = client.get("/api/ledger")

    assert response.status_code == 404
    assert "no entries in the database yet" in response.json()["detail"]


def test_before_the_first_seal_the_tree_is_empty(
    client: TestClient, ledger: str, signer: Ed25519PrivateKey
) -> None:
    served = client.get("/api/ledger").json()

    assert served == {
        "ledger": ledger,
        "treeSize": 0,
        "rootHash": None,
        "signedTreeHead": None,
    }
    assert client.get("/api/proofs/inclusion?index=0").status_code == 400


def test_without_a_database_proofs_are_unavailable_but_signing_works(
    make_app: Callable[..., Starlette],
) -> None:
    for client in ready_client(make_app(dsn=None)):
        for url in ("/api/ledger", "/api/proofs/inclusion?index=0", "/api/public-key"):
            response = client.get(url)
            assert response.status_code == 503
            assert "--dsn" in response.json()["detail"]
        assert client.post("/entries", json={"message": "still works"}).status_code == 201


def test_before_the_operator_creates_the_schema_the_page_works_and_proofs_wait(
    make_app: Callable[..., Starlette], empty_database_dsn: str
) -> None:
    """The web UI started before the operator: its database has no tables yet."""
    for client in ready_client(make_app(dsn=empty_database_dsn)):
        page = client.get("/")
        assert page.status_code == 200
        for url in ("/api/ledger", "/checkpoint"):
            response = client.get(url)
            assert response.status_code == 503, response.text
            assert "no ledger tables yet" in response.json()["detail"]


@pytest.mark.parametrize("size", [1, 2, 5])
def test_inclusion_proofs_of_small_trees(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey, size: int
) -> None:
    admit_and_seal(store, ledger, signer, 0, size)
    root = bytes.fromhex(client.get("/api/ledger").json()["rootHash"])
    for index in range(size):
        proof = client.get(f"/api/proofs/inclusion?index={index}").json()["proof"]
        verify_inclusion(
            leaf_hash=leaf(ledger, index),
            index=index,
            size=size,
            proof=[bytes.fromhex(h) for h in proof],
            root=root,
        )
