"""`guestbook-ledger verify checkpoint` as a user runs it: a checkpoint note checked
against a note verifier key; witnesses' signatures ignored; exit 0 valid, 1 invalid
(forged, another key or origin), 2 malformed input, each with one line."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from guestbook_ledger.format import generate_private_key, sign_checkpoint, verifier_key
from guestbook_ledger.format.note import sign_note

ORIGIN = "guestbook.example/default/guestbook"
KEY = generate_private_key()
VKEY = verifier_key(ORIGIN, KEY.public_key())
HEAD = sign_checkpoint(
    KEY,
    ledger="default/guestbook",
    origin=ORIGIN,
    tree_size=13,
    root_hash=hashlib.sha256(b"root").digest(),
    timestamp="2026-11-25T12:00:00Z",
)


def verify(note: str, vkey: str = VKEY, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "verify", "checkpoint", "-", "--vkey", vkey],
        input=note,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    stream = result.stderr if status == 2 else result.stdout
    assert len(stream.splitlines()) == 1, stream
    assert text in stream


def test_a_checkpoint_by_the_ledger_key_verifies(tmp_path: Path) -> None:
    witness = sign_note(HEAD.text(), "witness.example/w", generate_private_key()).to_line()
    result = verify(HEAD.note() + witness)
    one_line(result, 0, f"OK: checkpoint of {ORIGIN} at size 13 with root")
    assert HEAD.root_hash.hex() in result.stdout


def test_forged_and_foreign_checkpoints_are_invalid() -> None:
    one_line(verify(HEAD.note().replace("\n13\n", "\n12\n")), 1, "INVALID: the signature by")
    other = verifier_key(ORIGIN, generate_private_key().public_key())
    one_line(verify(HEAD.note(), other), 1, "INVALID: the note has no signature by a known key")
    text = HEAD.text().replace(ORIGIN, "evil.example/log")
    renamed = text + "\n" + sign_note(text, ORIGIN, KEY).to_line()
    one_line(verify(renamed), 1, "another log's checkpoint")


def test_malformed_input_is_exit_2() -> None:
    one_line(verify("not a note\n"), 2, "blank line")
    one_line(verify(HEAD.note(), "garbage"), 2, "--vkey: a note verifier key is")
    text = f"{ORIGIN}\nthirteen\nAAAA\n"
    one_line(verify(text + "\n" + sign_note(text, ORIGIN, KEY).to_line()), 2, "tree size")
