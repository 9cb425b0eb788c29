"""The verify page offers an entry's proof file (C2SP tlog-proof@v1), built from the
checkpoint the web UI publishes with its witnesses' cosignatures, and the file
verifies offline with `guestbook-ledger verify proof` under the witness policy;
entries not yet in a published checkpoint get a 404 problem saying when. Code
nobody here wrote (transparency-dev/formats and transparency-dev/merkle, in Go)
reads and verifies the served file, and writes it back byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import entry_record, leaf_hash, parse_proof_file, verifier_key
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, cosign
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    latest_checkpoint,
    seal_batch,
)
from guestbook_ledger.store.witnesses import record_cosignatures, set_witness_policy
from starlette.testclient import TestClient
from tlog_interop import TLOG_PROOF_PROGRAM, build_go_program

PROBLEM = "application/problem+json"


def sign_guestbook(client: TestClient, count: int) -> list[dict[str, Any]]:
    """Entries signed through the web UI (GuestbookEntry resources in Kubernetes)."""
    entries = []
    for i in range(count):
        response = client.post("/entries", json={"author": f"Ada {i}", "message": f"Hello {i} ✓"})
        assert response.status_code == 201, response.text
        entries.append(response.json())
    return entries


def seal(
    store: Connection, ledger: str, signer: Ed25519PrivateKey, entries: list[dict[str, Any]]
) -> None:
    """What the operator and its workers do: admit the resources' entries, seal them."""
    admit_entries(
        store,
        ledger,
        [
            NewEntry(e["name"], e["uid"], e["spec"]["author"], e["spec"]["message"], e["createdAt"])
            for e in entries
        ],
    )
    seal_batch(store, ledger, signer, max_entries=len(entries))


def verify_proof(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "verify", "proof", str(path), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_proof_file_of_an_entry_verifies_offline_under_the_witness_policy(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey, tmp_path: Path
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    witness = Ed25519PrivateKey.generate()
    cosigner = Cosigner.for_key("witness.example/w1", witness.public_key())
    policy = {"name": cosigner.name, "verifierKey": cosigner.to_text(), "url": "http://127.0.0.1:9"}
    set_witness_policy(store, ledger, quorum=1, witnesses=[policy])
    entries = sign_guestbook(client, 3)
    name = entries[1]["name"]

    unsealed = client.get(f"/api/entries/{name}/proof")
    assert unsealed.status_code == 404
    assert unsealed.headers["content-type"] == PROBLEM
    assert unsealed.headers["cache-control"] == "no-store"
    assert "not sealed into the ledger yet" in unsealed.json()["detail"]

    seal(store, ledger, signer, entries)
    uncosigned = client.get(f"/api/entries/{name}/proof")
    assert uncosigned.status_code == 404
    assert (
        "once the witnesses have cosigned a checkpoint that contains it"
        in (uncosigned.json()["detail"])
    )

    head = latest_checkpoint(store, ledger)
    assert head is not None and head.tree_size == 3
    line = cosign(witness, cosigner.name, head.text(), 1_700_000_000).to_line()
    record_cosignatures(store, ledger, 3, [Cosignature(cosigner, 1_700_000_000, line)])
    response = client.get(f"/api/entries/{name}/proof")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="{name}.tlog-proof"'
    assert response.text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    parsed = parse_proof_file(response.content)
    assert parsed.checkpoint == client.get("/checkpoint").text == head.note() + line
    record = entry_record(
        ledger=ledger,
        entry=name,
        uid=entries[1]["uid"],
        author="Ada 1",
        message="Hello 1 ✓",
        submitted_at=entries[1]["createdAt"],
    )
    assert parsed.extra == record

    path = tmp_path / f"{name}.tlog-proof"
    path.write_bytes(response.content)
    result = verify_proof(
        path, "--vkey", vkey, "--witness-vkey", cosigner.to_text(), "--policy", "1"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(
        f"OK: leaf {parsed.index} (entry '{name}' by 'Ada 1') with hash "
    )
    assert leaf_hash(record).hex() in result.stdout
    assert "cosigned by 1 of 1 witnesses (witness.example/w1), policy 1" in result.stdout

    # A second witness that never cosigned: a policy of both is not met.
    other = Cosigner.for_key("witness.example/w2", Ed25519PrivateKey.generate().public_key())
    unmet = verify_proof(
        path,
        "--vkey",
        vkey,
        "--witness-vkey",
        cosigner.to_text(),
        "--witness-vkey",
        other.to_text(),
    )
    assert unmet.returncode == 1
    assert unmet.stdout.startswith("INVALID: the checkpoint is cosigned by 1 of the 2 witnesses")


def test_the_verify_page_links_the_proof_file_and_unknown_entries_are_404(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey
) -> None:
    [entry] = sign_guestbook(client, 1)
    page = client.get(f"/entries/{entry['name']}/verify")
    assert page.status_code == 200
    assert f'/api/entries/{entry["name"]}/proof" download="{entry["name"]}.tlog-proof"' in page.text
    seal(store, ledger, signer, [entry])
    proof = client.get(
        f"/api/entries/{entry['name']}/proof"
    )  # no witness policy: published at once
    assert proof.status_code == 200
    assert parse_proof_file(proof.content).index == 0

    how = client.get("/how-to-verify").text
    assert "/api/entries/NAME/proof" in how
    assert "guestbook-ledger verify proof NAME.tlog-proof" in how
    # The configured public URL or a placeholder, never the request's Host (issue 11).
    assert "guestbook-ledger monitor https://GUESTBOOK-ADDRESS/ --vkey" in how

    missing = client.get("/api/entries/no-such-entry/proof")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert "There is no guestbook entry 'no-such-entry'" in missing.json()["detail"]


def test_transparency_dev_go_modules_verify_the_served_proof_file(
    client: TestClient, store: Connection, ledger: str, signer: Ed25519PrivateKey, tmp_path: Path
) -> None:
    tlogproof = build_go_program(TLOG_PROOF_PROGRAM, tmp_path, "tlogproof")
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    keys = [Ed25519PrivateKey.generate() for _ in range(3)]
    cosigners = [
        Cosigner.for_key(f"witness.example/w{i}", k.public_key()) for i, k in enumerate(keys)
    ]
    policy = [
        {"name": c.name, "verifierKey": c.to_text(), "url": "http://127.0.0.1:9"} for c in cosigners
    ]
    set_witness_policy(store, ledger, quorum=2, witnesses=policy)
    entries = sign_guestbook(client, 6)
    seal(store, ledger, signer, entries)
    head = latest_checkpoint(store, ledger)
    assert head is not None
    cosignatures = [
        Cosignature(c, 1_700_000_000, cosign(k, c.name, head.text(), 1_700_000_000).to_line())
        for c, k in zip(cosigners[:2], keys[:2], strict=True)
    ]
    record_cosignatures(store, ledger, 6, cosignatures)
    name = entries[4]["name"]
    served = client.get(f"/api/entries/{name}/proof")
    assert served.status_code == 200, served.text
    path = tmp_path / f"{name}.tlog-proof"
    path.write_bytes(served.content)

    witness_options = [option for c in cosigners for option in ("-witness", c.to_text())]
    rewritten = tmp_path / "rewritten.tlog-proof"
    check = [str(tlogproof), "-proof", str(path), "-vkey", vkey, *witness_options]
    result = subprocess.run(
        [*check, "-policy", "2", "-out", str(rewritten)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: formats/proof read leaf 4 with 2 proof hashes" in result.stdout
    assert f"OK: log.ParseCheckpoint verified the checkpoint of {origin} at size 6" in result.stdout
    assert "accepted the cosignatures (2 of 3 needed)" in result.stdout
    assert "OK: merkle proof.VerifyInclusion accepted leaf 4" in result.stdout
    # formats/proof writes exactly the text we served, and we verify what it wrote.
    assert rewritten.read_bytes() == served.content
    assert verify_proof(rewritten, "--vkey", vkey).returncode == 0

    # Go refuses what we refuse: a policy of all three, and an altered record.
    unmet = subprocess.run(
        [*check, "-policy", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unmet.returncode == 1 and "FAIL: witness policy" in unmet.stdout
    altered = served.text.replace("extra ", "extra " + "QUFB", 1)  # three bytes prepended
    path.write_text(altered)
    tampered = subprocess.run(
        [str(tlogproof), "-proof", str(path), "-vkey", vkey],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tampered.returncode == 1 and "FAIL: inclusion" in tampered.stdout
    assert verify_proof(path, "--vkey", vkey).returncode == 1
