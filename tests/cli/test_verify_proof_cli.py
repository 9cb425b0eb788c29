"""`guestbook-ledger verify proof` as a user runs it on a proof file: exit 0 with one
"OK" line naming the entry, the tree and the cosigners; 1 with one "INVALID" line
for a tampered file, a forged signature or cosignature, a note signed only by
unknown keys or an unmet witness policy; 2 with one line on stderr for malformed
input or usage."""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import (
    build_proof_file,
    entry_record,
    leaf_hash,
    sign_checkpoint,
    verifier_key,
)
from guestbook_ledger.format.cosignature import Cosigner, cosign
from guestbook_ledger.format.note import sign_note
from guestbook_ledger.format.tree import inclusion_proof, root_hash

ORIGIN = "guestbook.example/default/guestbook"
LOG = Ed25519PrivateKey.generate()
VKEY = verifier_key(ORIGIN, LOG.public_key())
RECORDS = [
    entry_record(
        ledger="default/guestbook",
        entry=f"entry-{i}",
        uid=f"uid-{i}",
        author=f"Ada {i}",
        message="Hello ✓",
        submitted_at="2026-11-25T12:00:00Z",
    )
    for i in range(5)
]
LEAVES = [leaf_hash(r) for r in RECORDS]
HEAD = sign_checkpoint(
    LOG,
    ledger="default/guestbook",
    origin=ORIGIN,
    tree_size=5,
    root_hash=root_hash(LEAVES),
    timestamp="2026-11-25T12:00:00Z",
)
WITNESS_KEYS = [Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()]
WITNESSES = [Cosigner.for_key(f"w{i}.example", k.public_key()) for i, k in enumerate(WITNESS_KEYS)]
COSIGNED = HEAD.note() + cosign(WITNESS_KEYS[0], "w0.example", HEAD.text(), 1_700_000_000).to_line()
PROOF = build_proof_file(
    index=2, proof=inclusion_proof(LEAVES, 2), checkpoint=COSIGNED, extra=RECORDS[2]
)


def verify(path: Path, *options: str, vkey: str = VKEY) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "guestbook_cli", "verify", "proof", str(path)]
    return subprocess.run(
        [*command, "--vkey", vkey, *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    stream = result.stderr if status == 2 else result.stdout
    assert len(stream.splitlines()) == 1, stream
    assert text in stream, stream


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str, name: str = "entry-2.tlog-proof") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_a_good_proof_file_verifies(write) -> None:  # type: ignore[no-untyped-def]
    path = write(PROOF.to_text())
    result = verify(path)
    one_line(result, 0, "OK: leaf 2 (entry 'entry-2' by 'Ada 2') with hash " + LEAVES[2].hex())
    assert f"in the tree of {ORIGIN} at size 5 with root {HEAD.root_hash.hex()}" in result.stdout
    policy = ["--witness-vkey", WITNESSES[0].to_text(), "--witness-vkey", WITNESSES[1].to_text()]
    result = verify(path, *policy, "--policy", "1")
    one_line(result, 0, "cosigned by 1 of 2 witnesses (w0.example), policy 1")
    one_line(verify(path, "--leaf-hash", LEAVES[2].hex()), 0, "OK: leaf 2")
    bare = write(dataclasses.replace(PROOF, extra=None).to_text(), "bare.tlog-proof")
    one_line(verify(bare, "--leaf-hash", LEAVES[2].hex()), 0, "OK: leaf 2 with hash")
    piped = subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "verify", "proof", "-", "--vkey", VKEY],
        input=PROOF.to_text(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    one_line(piped, 0, "OK: leaf 2")


def test_tampered_files_are_invalid(write) -> None:  # type: ignore[no-untyped-def]
    other_record = RECORDS[2].replace(b"Hello", b"Hullo")
    one_line(
        verify(write(dataclasses.replace(PROOF, extra=other_record).to_text())),
        1,
        "INVALID: the proof yields root",
    )
    one_line(
        verify(write(dataclasses.replace(PROOF, index=3).to_text())),
        1,
        "INVALID: the proof yields root",
    )
    one_line(
        verify(write(PROOF.to_text()), "--leaf-hash", LEAVES[1].hex()),
        1,
        "INVALID: the proof file's entry record hashes to leaf",
    )
    bigger = COSIGNED.replace("\n5\n", "\n6\n", 1)
    one_line(
        verify(write(dataclasses.replace(PROOF, checkpoint=bigger).to_text())),
        1,
        "INVALID: the signature by " + ORIGIN,
    )


def test_forged_cosignatures_and_unknown_keys(write) -> None:  # type: ignore[no-untyped-def]
    line = COSIGNED.splitlines()[-1]
    raw = base64.b64decode(line.split()[-1])
    forged_line = line.rsplit(" ", 1)[0] + " " + base64.b64encode(raw[:-1] + b"\x00").decode()
    forged = COSIGNED.replace(line, forged_line)
    path = write(dataclasses.replace(PROOF, checkpoint=forged).to_text())
    one_line(
        verify(path, "--witness-vkey", WITNESSES[0].to_text()),
        1,
        "INVALID: the cosignature by witness w0.example does not verify",
    )
    # The forged line is by a key the verifier was not given: ignored, as signed-note says.
    one_line(verify(path), 0, "OK: leaf 2")
    # A policy the cosignatures do not meet.
    one_line(
        verify(write(PROOF.to_text()), "--witness-vkey", WITNESSES[1].to_text()),
        1,
        "INVALID: the checkpoint is cosigned by 0 of the 1 witnesses the policy needs",
    )
    # Signed only by a key of the log's name that is not the log's key.
    impostor = (
        HEAD.text() + "\n" + sign_note(HEAD.text(), ORIGIN, Ed25519PrivateKey.generate()).to_line()
    )
    one_line(
        verify(write(dataclasses.replace(PROOF, checkpoint=impostor).to_text())),
        1,
        "INVALID: the note has no signature by a known key",
    )
    other_log = verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key())
    one_line(verify(write(PROOF.to_text()), vkey=other_log), 1, "INVALID: the note has no")


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("not a proof\n", [], "starts with the line 'c2sp.org/tlog-proof@v1'"),
        (PROOF.to_text().replace("index 2", "index two"), [], "must be 'index N'"),
        (PROOF.to_text().split("\n\n")[0] + "\n\nnot a note\n", [], "blank line"),
        (dataclasses.replace(PROOF, extra=None).to_text(), [], "give the entry's leaf hash"),
        (PROOF.to_text(), ["--leaf-hash", "abc"], "--leaf-hash must be 64 hex digits"),
        (PROOF.to_text(), ["--witness-vkey", "nonsense"], "--witness-vkey: a witness verifier"),
        (PROOF.to_text(), ["--policy", "1"], "--policy 1 asks for more cosignatures than the 0"),
        (PROOF.to_text(), ["--policy", "x"], "--policy must be a whole number"),
    ],
)
def test_malformed_input_is_exit_2(write, text: str, options: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    one_line(verify(write(text), *options), 2, message)


def test_a_bad_vkey_or_missing_file_is_exit_2(tmp_path: Path) -> None:
    one_line(verify(tmp_path / "missing.tlog-proof"), 2, "cannot read the proof file")
    path = tmp_path / "p.tlog-proof"
    path.write_text(PROOF.to_text())
    one_line(verify(path, vkey="garbage"), 2, "--vkey: a note verifier key is")
