"""`guestbook-ledger verify …` run as a user runs it: exit status 0 valid, 1 invalid,
2 malformed input, each with one line of explanation."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from guestbook_ledger.format import (
    consistency_proof,
    format_proof,
    generate_private_key,
    inclusion_proof,
    leaf_hash,
    public_key_to_pem,
    root_hash,
    sign_tree_head,
)

LEAVES = [leaf_hash(f"entry {i}".encode()) for i in range(13)]
ROOT = root_hash(LEAVES)


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "verify", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_outcome(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    """Exit ``status`` with exactly one line, containing ``text``, on the expected stream."""
    assert result.returncode == status, (result.stdout, result.stderr)
    stream, other = (
        (result.stderr, result.stdout) if status == 2 else (result.stdout, result.stderr)
    )
    assert other == ""
    lines = stream.splitlines()
    assert len(lines) == 1, stream
    assert text in lines[0]


def inclusion(
    changes: dict[str, str] | None = None, index: int = 5
) -> subprocess.CompletedProcess[str]:
    options = {
        "--leaf-hash": LEAVES[index].hex(),
        "--index": str(index),
        "--size": str(len(LEAVES)),
        "--root": ROOT.hex(),
        "--proof": format_proof(inclusion_proof(LEAVES, index)),
    }
    options.update(changes or {})
    return run("inclusion", *(part for pair in options.items() for part in pair))


def consistency(
    changes: dict[str, str] | None = None, size1: int = 6
) -> subprocess.CompletedProcess[str]:
    options = {
        "--size1": str(size1),
        "--size2": str(len(LEAVES)),
        "--root1": root_hash(LEAVES[:size1]).hex(),
        "--root2": ROOT.hex(),
        "--proof": format_proof(consistency_proof(LEAVES, size1)),
    }
    options.update(changes or {})
    return run("consistency", *(part for pair in options.items() for part in pair))


def test_valid_inclusion_proof() -> None:
    assert_outcome(inclusion(), 0, f"OK: {LEAVES[5].hex()} is leaf 5 of the tree of size 13")


def test_single_leaf_tree_takes_an_empty_proof() -> None:
    leaf = LEAVES[0].hex()
    result = run(
        "inclusion",
        "--leaf-hash",
        leaf,
        "--index",
        "0",
        "--size",
        "1",
        "--root",
        leaf,
        "--proof",
        "",
    )
    assert_outcome(result, 0, "OK:")


def test_tampered_inclusion_proofs_are_invalid() -> None:
    assert_outcome(inclusion({"--root": LEAVES[0].hex()}), 1, "INVALID: the proof yields root")
    assert_outcome(inclusion({"--leaf-hash": LEAVES[4].hex()}), 1, "INVALID:")
    assert_outcome(inclusion({"--index": "4"}), 1, "INVALID:")
    assert_outcome(inclusion({"--proof": ""}), 1, "INVALID: an inclusion proof for leaf 5")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--index": "13"}, "leaf index must be less than the tree size 13; got 13"),
        ({"--index": "-1"}, "--index must be a whole number of at least 0; got '-1'"),
        ({"--size": "-13"}, "--size must be a whole number"),
        ({"--size": "1" * 500}, "--size must be a whole number"),
        ({"--root": "abc"}, "--root must be 64 hex digits (a SHA-256 hash); got 3 (an odd number)"),
        ({"--root": "x" * 64}, "non-hex character 'x'"),
        ({"--leaf-hash": ""}, "--leaf-hash must be 64 hex digits"),
        ({"--proof": "ab" * 32 + ",,"}, "proof element 1 is empty"),
        ({"--proof": ",".join(["ab" * 32] * 65)}, "at most 64 hashes"),
    ],
)
def test_malformed_inclusion_input_exits_2(changes: dict[str, str], message: str) -> None:
    assert_outcome(inclusion(changes), 2, message)


def test_missing_option_is_a_usage_error() -> None:
    result = run("inclusion", "--index", "0")
    assert result.returncode == 2
    assert "required" in result.stderr


def test_valid_consistency_proofs() -> None:
    assert_outcome(consistency(), 0, "OK: the tree of size 13 with root")
    assert_outcome(consistency(size1=8), 0, "extends the tree of size 8")
    assert_outcome(consistency(size1=13), 0, "OK:")  # equal sizes: --proof "" and equal roots


def test_tampered_consistency_proofs_are_invalid() -> None:
    assert_outcome(consistency({"--root1": LEAVES[0].hex()}), 1, "INVALID: the proof yields root1")
    assert_outcome(consistency({"--root2": LEAVES[0].hex()}), 1, "INVALID: the proof yields root2")
    assert_outcome(consistency({"--proof": ""}), 1, "INVALID: a consistency proof from size 6")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--size1": "0"}, "size1 must be between 1 and"),
        ({"--size1": "14"}, "size1 must not exceed size2 (13); got 14"),
        ({"--size2": "99999999999999999999"}, "size2 must be between 1 and"),
        ({"--root2": "00" * 33}, "--root2 must be 64 hex digits"),
    ],
)
def test_malformed_consistency_input_exits_2(changes: dict[str, str], message: str) -> None:
    assert_outcome(consistency(changes), 2, message)


@pytest.fixture
def signed_head(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signed tree head file, its signer's public key and a stranger's key."""
    key = generate_private_key()
    head = sign_tree_head(
        key,
        ledger="default/guestbook",
        tree_size=13,
        root_hash=ROOT,
        timestamp="2026-11-25T11:26:32Z",
    )
    head_file = tmp_path / "head.json"
    head_file.write_text(head.to_json())
    public = tmp_path / "ledger.pub"
    public.write_bytes(public_key_to_pem(key.public_key()))
    stranger = tmp_path / "stranger.pub"
    stranger.write_bytes(public_key_to_pem(generate_private_key().public_key()))
    return head_file, public, stranger


def test_valid_signed_tree_head(signed_head: tuple[Path, Path, Path]) -> None:
    head, public, _ = signed_head
    result = run("sth", str(head), "--public-key", str(public))
    assert_outcome(
        result, 0, f"OK: tree head of default/guestbook at size 13 with root {ROOT.hex()}"
    )


def test_tree_head_from_stdin(signed_head: tuple[Path, Path, Path]) -> None:
    """As piped from `kubectl get ldg NAME -o jsonpath='{.status.signedTreeHead}'`."""
    head, public, _ = signed_head
    result = run("sth", "-", "--public-key", str(public), stdin=head.read_text())
    assert_outcome(result, 0, "OK: tree head of default/guestbook at size 13")


def test_tree_head_under_another_key_or_altered_is_invalid(
    signed_head: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    head, public, stranger = signed_head
    assert_outcome(
        run("sth", str(head), "--public-key", str(stranger)),
        1,
        "INVALID: the tree head was signed by key",
    )
    altered = tmp_path / "altered.json"
    altered.write_text(head.read_text().replace('"treeSize":13', '"treeSize":14'))
    assert_outcome(
        run("sth", str(altered), "--public-key", str(public)),
        1,
        "INVALID: the signature does not match",
    )


def test_malformed_tree_head_files_exit_2(
    signed_head: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    head, public, _ = signed_head
    broken = tmp_path / "broken.json"
    broken.write_text(head.read_text()[:-5])
    assert_outcome(run("sth", str(broken), "--public-key", str(public)), 2, "not valid JSON")
    missing = tmp_path / "missing.json"
    assert_outcome(
        run("sth", str(missing), "--public-key", str(public)), 2, "cannot read the tree head file"
    )
    assert_outcome(run("sth", str(head), "--public-key", str(head)), 2, "not a PEM public key")
    bad_signature = tmp_path / "bad-signature.json"
    text = head.read_text()
    start = text.index('"signature":"') + len('"signature":"')
    bad_signature.write_text(text[:start] + "%%%" + text[start + 3 :])
    assert_outcome(
        run("sth", str(bad_signature), "--public-key", str(public)), 2, "standard base64"
    )
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (70 * 1024))
    assert_outcome(run("sth", str(huge), "--public-key", str(public)), 2, "larger than")


def test_published_vector_through_the_command_line() -> None:
    """The size-8 tree of the classic CT leaves from tests/testdata/rfc6962."""
    leaves = [
        hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest()
        for h in (
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        )
    ]
    root = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    result = run(
        "inclusion",
        "--leaf-hash",
        leaves[2].hex(),
        "--index",
        "2",
        "--size",
        "8",
        "--root",
        root,
        "--proof",
        format_proof(inclusion_proof(leaves, 2)),
    )
    assert_outcome(result, 0, "OK:")
