"""The web UI serves its ledger as C2SP tlog-tiles: /checkpoint (a signed note that
verifies with the Ledger's verifier key), hash tiles equal to the tree's hashes,
entry bundles of the exact records that were leaf-hashed, the caching headers
the spec asks for, and problem details for malformed or missing tiles."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import NoteVerifier, open_checkpoint, verifier_key
from guestbook_ledger.format.cosignature import (
    Cosignature,
    Cosigner,
    cosign,
    verify_cosignatures,
)
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.tiles import parse_entry_bundle
from guestbook_ledger.format.tree import root_hash
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    latest_checkpoint,
    seal_batch,
)
from guestbook_ledger.store.witnesses import record_cosignatures, set_witness_policy
from starlette.testclient import TestClient

PROBLEM = "application/problem+json"
IMMUTABLE = "public, max-age=31536000, immutable"


def seal(store: Connection, ledger: str, signer: Ed25519PrivateKey, start: int, count: int) -> None:
    entries = [
        NewEntry(
            entry=f"entry-{i}",
            uid=f"uid-{i}",
            author=f"Author {i}",
            message=f"Message {i} " + "é" * (i % 5),
            submitted_at="2026-11-25T12:00:00Z",
        )
        for i in range(start, start + count)
    ]
    admit_entries(store, ledger, entries)
    seal_batch(store, ledger, signer, max_entries=count)


def records(store: Connection) -> list[bytes]:
    with store, store.cursor() as cur:
        cur.execute("SELECT record FROM entries WHERE state = 'sealed' ORDER BY leaf_index")
        return [bytes(row[0]) for row in cur.fetchall()]


def test_checkpoint_is_a_signed_note_that_verifies_with_the_verifier_key(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"  # the default origin of a Ledger
    missing = client.get("/checkpoint")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM

    seal(store, ledger, signer, 0, 5)
    response = client.get("/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=2"
    root = root_hash([leaf_hash(record) for record in records(store)])
    text, _, signatures = response.text.partition("\n\n")
    assert text == f"{origin}\n5\n{base64.b64encode(root).decode()}"
    assert signatures.startswith(f"\u2014 {origin} ") and signatures.count("\n") == 1
    vkey = verifier_key(origin, signer.public_key())
    checkpoint = open_checkpoint(response.content, NoteVerifier.from_text(vkey))
    assert (checkpoint.tree_size, checkpoint.root_hash) == (5, root)


def test_tiles_hold_the_trees_hashes_and_bundles_the_hashed_records(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    seal(store, ledger, signer, 0, 300)
    stored = records(store)
    leaves = [leaf_hash(record) for record in stored]

    full = client.get("/tile/0/000")
    assert full.status_code == 200
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == IMMUTABLE
    assert full.content == b"".join(leaves[:256])

    partial = client.get("/tile/0/001.p/44")
    assert partial.status_code == 200
    assert partial.headers["cache-control"] == "public, max-age=60"
    assert partial.content == b"".join(leaves[256:300])
    # Any smaller width of a partial tile is the prefix (it existed at an older size).
    assert client.get("/tile/0/001.p/3").content == b"".join(leaves[256:259])

    # Level 1: each hash is the root of a full level-0 tile.
    assert client.get("/tile/1/000.p/1").content == root_hash(leaves[:256])

    bundle = client.get("/tile/entries/000")
    assert bundle.headers["cache-control"] == IMMUTABLE
    assert bundle.headers["content-type"] == "application/octet-stream"
    assert parse_entry_bundle(bundle.content) == stored[:256]
    assert [leaf_hash(r) for r in parse_entry_bundle(bundle.content)] == leaves[:256]
    tail = client.get("/tile/entries/001.p/44")
    assert parse_entry_bundle(tail.content) == stored[256:]
    gzipped = client.get("/tile/entries/000", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert parse_entry_bundle(gzipped.content) == stored[:256]


@pytest.mark.parametrize(
    "path",
    [
        "/tile/0/001",  # the full tile does not exist yet
        "/tile/0/001.p/45",  # wider than the tree
        "/tile/0/002.p/1",
        "/tile/1/000",
        "/tile/2/000.p/1",
        "/tile/7/000.p/1",
        "/tile/63/x999/x999/x999/x999/x999/x999/999",
        "/tile/entries/001",
        "/tile/entries/x999/x999/x999/x999/x999/x999/999.p/255",
    ],
)
def test_tiles_beyond_the_tree_are_uncached_404_problems(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey, path: str
) -> None:
    seal(store, ledger, signer, 0, 300)
    response = client.get(path)
    assert response.status_code == 404, path
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["cache-control"] == "no-store"
    assert "beyond the sealed tree" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/tile/00/000",
        "/tile/64/000",
        "/tile/0/1",
        "/tile/0/x000/001",
        "/tile/0/001/002",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/007",
        "/tile/0/000.p",
        "/tile/data/000",
        "/tile/0/%C3%A9%C3%A9%C3%A9",
        "/tile/0/x001/x001/x001/x001/x001/x001/x001/001",
        "/tile/entries",
        "/tile/",
    ],
)
def test_malformed_tile_paths_are_400_problems(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey, path: str
) -> None:
    seal(store, ledger, signer, 0, 3)
    response = client.get(path)
    assert response.status_code == 400, path
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:guestbook-ledger:problem:invalid-tile-path"
    assert body["detail"]


def test_checkpoint_waits_for_the_witness_quorum_and_carries_cosignatures(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    witness = Ed25519PrivateKey.generate()
    cosigner = Cosigner.for_key("w.example/1", witness.public_key())
    entry = {"name": cosigner.name, "verifierKey": cosigner.to_text(), "url": "http://127.0.0.1:9"}
    set_witness_policy(store, ledger, quorum=1, witnesses=[entry])
    seal(store, ledger, signer, 0, 3)
    assert client.get("/checkpoint").status_code == 404  # nobody cosigned yet

    head = latest_checkpoint(store, ledger)
    assert head is not None
    line = cosign(witness, cosigner.name, head.text(), 1_700_000_000).to_line()
    record_cosignatures(store, ledger, 3, [Cosignature(cosigner, 1_700_000_000, line)])
    seal(store, ledger, signer, 3, 2)  # size 5 is signed but not yet cosigned
    served = client.get("/checkpoint")
    assert served.status_code == 200
    assert served.text == head.note() + line
    assert verify_cosignatures(served.text, [cosigner])[0].timestamp == 1_700_000_000
