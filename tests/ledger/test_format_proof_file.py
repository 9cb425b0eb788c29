"""Proof files (C2SP tlog-proof@v1): the exact text, the spec's own example parsed,
clear errors for every malformed line, and verification that checks the log's
signature, the inclusion of the carried record and the witness policy — ignoring
unknown keys and rejecting forgeries."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import (
    CosignaturePolicyError,
    NoteVerifier,
    ProofError,
    ProofFileFormatError,
    SignatureError,
    build_proof_file,
    entry_record,
    leaf_hash,
    parse_proof_file,
    sign_checkpoint,
    verify_proof_file,
)
from guestbook_ledger.format.cosignature import Cosigner, cosign
from guestbook_ledger.format.note import sign_note
from guestbook_ledger.format.proof_file import ProofFile
from guestbook_ledger.format.tree import inclusion_proof, root_hash

ORIGIN = "guestbook.example/default/guestbook"
LOG = Ed25519PrivateKey.generate()
VERIFIER = NoteVerifier.for_key(ORIGIN, LOG.public_key())
RECORDS = [
    entry_record(
        ledger="default/guestbook",
        entry=f"entry-{i}",
        uid=f"uid-{i}",
        author=f"Author {i}",
        message=f"Message {i} ✓",
        submitted_at="2026-11-25T12:00:00Z",
    )
    for i in range(7)
]
LEAVES = [leaf_hash(record) for record in RECORDS]
HEAD = sign_checkpoint(
    LOG,
    ledger="default/guestbook",
    origin=ORIGIN,
    tree_size=len(LEAVES),
    root_hash=root_hash(LEAVES),
    timestamp="2026-11-25T12:00:00Z",
)
WITNESSES = [Ed25519PrivateKey.generate() for _ in range(3)]
COSIGNERS = [Cosigner.for_key(f"w{i}.example", k.public_key()) for i, k in enumerate(WITNESSES)]


def cosigned(note: str, *witnesses: int) -> str:
    lines = [
        cosign(WITNESSES[i], COSIGNERS[i].name, HEAD.text(), 1_700_000_000 + i) for i in witnesses
    ]
    return note + "".join(line.to_line() for line in lines)


def proof_for(leaf: int, **changes: Any) -> ProofFile:
    built = build_proof_file(
        index=leaf,
        proof=inclusion_proof(LEAVES, leaf),
        checkpoint=HEAD.note(),
        extra=RECORDS[leaf],
    )
    return dataclasses.replace(built, **changes)


def test_the_text_is_header_extra_index_hashes_blank_line_checkpoint() -> None:
    proof = proof_for(3)
    hashes = [base64.b64encode(h).decode() for h in inclusion_proof(LEAVES, 3)]
    assert proof.to_text() == (
        "c2sp.org/tlog-proof@v1\n"
        f"extra {base64.b64encode(RECORDS[3]).decode()}\n"
        "index 3\n" + "".join(h + "\n" for h in hashes) + "\n" + HEAD.note()
    )
    assert parse_proof_file(proof.to_text()) == proof
    assert parse_proof_file(proof.to_text().encode()) == proof
    bare = build_proof_file(index=0, proof=[], checkpoint=HEAD.note())
    assert bare.to_text() == "c2sp.org/tlog-proof@v1\nindex 0\n\n" + HEAD.note()
    assert parse_proof_file(bare.to_text()) == bare


def test_the_specs_example_parses() -> None:
    # The example of c2sp.org/tlog-proof (its signatures are elided there, so only
    # the layout is read; the note is verified separately).
    hashes = [
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=",
        "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=",
        "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=",
        "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=",
        "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=",
    ]
    note = (
        "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\n"
        "\u2014 example.com/fancylog hI2DJw[...]1roloI=\n"
    )
    extra = "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ"
    text = f"c2sp.org/tlog-proof@v1\nextra {extra}\nindex 73894\n" + "\n".join(hashes)
    parsed = parse_proof_file(text + "\n\n" + note)
    assert parsed.index == 73894
    assert parsed.proof == tuple(base64.b64decode(h) for h in hashes)
    assert parsed.extra == base64.b64decode(extra)
    assert parsed.checkpoint == note


GOOD = proof_for(3).to_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "starts with the line 'c2sp.org/tlog-proof@v1'"),
        (GOOD.replace("@v1", "@v2", 1), "starts with the line"),
        ("c2sp.org/tlog-proof@v1\nindex 3\n" + HEAD.note().replace("\n\n", "\n"), "empty line"),
        (GOOD.replace("extra ", "extra !", 1), "line 2 must be 'extra '"),
        (GOOD.replace("index 3", "index 03"), "'index N'"),
        (GOOD.replace("index 3", "index -3"), "'index N'"),
        (GOOD.replace("index 3", "index 9007199254740992"), "'index N'"),
        (GOOD.replace("index 3", "idx 3"), "line 3 must be 'index N'"),
        (GOOD.replace("index 3\n", "index 3\nAAAA\n"), "line 4 must be a 32-byte hash"),
        (GOOD.replace("index 3\n", "index 3\n" + "A" * 43 + "\n"), "32-byte hash"),
        (
            GOOD.replace("index 3\n", "index 3\n" + ("A" * 43 + "=\n") * 65),
            "at most 64 hashes",
        ),
        (GOOD.split("\n\n")[0] + "\n\n", "no checkpoint"),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n\n\xff\n", "UTF-8"),
        ("c2sp.org/tlog-proof@v1\n" + "x" * 2_000_000, "at most"),
    ],
)
def test_malformed_files_say_which_line_is_wrong(text: str | bytes, message: str) -> None:
    with pytest.raises(ProofFileFormatError, match=message.replace("(", r"\(")):
        parse_proof_file(text)


def test_build_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ProofFileFormatError, match="leaf index"):
        build_proof_file(index=-1, proof=[], checkpoint=HEAD.note())
    with pytest.raises(ProofFileFormatError, match="32 bytes"):
        build_proof_file(index=0, proof=[b"short"], checkpoint=HEAD.note())
    with pytest.raises(ProofFileFormatError, match="signed note"):
        build_proof_file(index=0, proof=[], checkpoint="no newline")


def test_a_good_proof_verifies_and_returns_the_authenticated_record() -> None:
    for index in range(len(RECORDS)):
        verified = verify_proof_file(parse_proof_file(proof_for(index).to_text()), log=VERIFIER)
        assert verified.index == index
        assert verified.record == RECORDS[index]
        assert verified.leaf_hash == LEAVES[index]
        assert verified.checkpoint.tree_size == 7
    # Without a record the leaf hash must be given; with both they must agree.
    bare = proof_for(2, extra=None)
    assert verify_proof_file(bare, log=VERIFIER, expected_leaf_hash=LEAVES[2]).index == 2
    with pytest.raises(ProofFileFormatError, match="give the entry's leaf hash"):
        verify_proof_file(bare, log=VERIFIER)
    with pytest.raises(ProofError, match="proves another entry"):
        verify_proof_file(proof_for(2), log=VERIFIER, expected_leaf_hash=LEAVES[1])


def test_tampered_proofs_do_not_verify() -> None:
    altered = RECORDS[3].replace(b"Message 3", b"Message 9")
    with pytest.raises(ProofError, match="not the expected root"):
        verify_proof_file(proof_for(3, extra=altered), log=VERIFIER)
    with pytest.raises(ProofError, match="not the expected root"):
        verify_proof_file(proof_for(3, index=4), log=VERIFIER)
    hashes = list(inclusion_proof(LEAVES, 3))
    hashes[1] = bytes(32)
    with pytest.raises(ProofError, match="not the expected root"):
        verify_proof_file(proof_for(3, proof=tuple(hashes)), log=VERIFIER)
    with pytest.raises(ProofError, match="hashes; got 2"):
        verify_proof_file(proof_for(3, proof=tuple(hashes[:2])), log=VERIFIER)
    with pytest.raises(ProofError, match="not in the checkpoint's tree of size 7"):
        verify_proof_file(proof_for(3, index=7), log=VERIFIER)


def test_the_log_signature_must_be_there_and_right() -> None:
    forged = HEAD.note().replace("\n7\n", "\n8\n")
    with pytest.raises(SignatureError, match="does not match the note"):
        verify_proof_file(proof_for(3, checkpoint=forged), log=VERIFIER)
    stranger = Ed25519PrivateKey.generate()
    only_unknown = HEAD.text() + "\n" + sign_note(HEAD.text(), ORIGIN, stranger).to_line()
    with pytest.raises(SignatureError, match="no signature by a known key"):
        verify_proof_file(proof_for(3, checkpoint=only_unknown), log=VERIFIER)
    # A stranger's signature beside the log's is ignored.
    extra_line = sign_note(HEAD.text(), "other.example", stranger).to_line()
    assert verify_proof_file(proof_for(3, checkpoint=HEAD.note() + extra_line), log=VERIFIER)


def test_the_witness_policy_counts_valid_cosignatures_of_known_witnesses() -> None:
    note = cosigned(HEAD.note(), 0, 2)
    proof = proof_for(3, checkpoint=note)
    verified = verify_proof_file(proof, log=VERIFIER, witnesses=COSIGNERS, quorum=2)
    assert sorted(c.cosigner.name for c in verified.cosignatures) == ["w0.example", "w2.example"]
    with pytest.raises(CosignaturePolicyError, match=r"2 of the 3 .*\(w1.example did not"):
        verify_proof_file(proof, log=VERIFIER, witnesses=COSIGNERS, quorum=3)
    # Duplicated witness keys count once; a quorum above the witnesses is a usage error.
    with pytest.raises(ValueError, match="0 to 1"):
        verify_proof_file(proof, log=VERIFIER, witnesses=[COSIGNERS[0]] * 2, quorum=2)
    # A cosignature by a witness not in the policy is ignored, not counted.
    with pytest.raises(CosignaturePolicyError, match="1 of the 2"):
        verify_proof_file(proof, log=VERIFIER, witnesses=COSIGNERS[:2], quorum=2)


def test_a_forged_cosignature_is_rejected() -> None:
    line = cosign(WITNESSES[1], COSIGNERS[1].name, HEAD.text(), 1_700_000_000)
    raw = base64.b64decode(line.to_line().split()[-1])
    forged_bytes = raw[:-1] + bytes([raw[-1] ^ 1])
    forged = f"\u2014 {COSIGNERS[1].name} {base64.b64encode(forged_bytes).decode()}\n"
    proof = proof_for(3, checkpoint=cosigned(HEAD.note(), 0) + forged)
    with pytest.raises(SignatureError, match=r"witness w1\.example does not verify"):
        verify_proof_file(proof, log=VERIFIER, witnesses=COSIGNERS, quorum=1)
