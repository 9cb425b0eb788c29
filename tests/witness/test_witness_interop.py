"""Code nobody here wrote accepts our witness's cosignatures: cosigcheck (Go, in
tests/interop/witness) opens the cosigned checkpoint with golang.org/x/mod/sumdb/note
and checks the cosignature/v1 with filippo.io/torchwood's CosignatureVerifier (the
library litewitness is built on), and refuses it once it is altered or is
another witness's."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosigner
from guestbook_operator.witness_client import submit_checkpoint
from witness_process import ServingWitness, TinyLog, init_witness, serving

MODULE = Path(__file__).resolve().parents[1] / "interop" / "witness"


@pytest.fixture(scope="module")
def cosigcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cosigcheck")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = dict(os.environ, GOFLAGS="-mod=readonly", CGO_ENABLED="0", GOTOOLCHAIN="local")
    built = subprocess.run(
        [go, "build", "-o", str(folder / "cosigcheck"), "./cosigcheck"],
        cwd=MODULE, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    return folder / "cosigcheck"


@pytest.fixture(scope="module")
def log() -> TinyLog:
    return TinyLog("log.test/interop")


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory, log: TinyLog) -> Iterator[ServingWitness]:
    state = tmp_path_factory.mktemp("witness") / "state"
    vkey = init_witness(state, "witness.test/interop")
    with serving(state, "--log", log.vkey) as running:
        assert running.vkey == vkey
        yield running


def check(cosigcheck: Path, note: str, log_vkey: str, witness_vkey: str) -> tuple[int, str]:
    ran = subprocess.run(
        [str(cosigcheck), "-log-vkey", log_vkey, "-witness-vkey", witness_vkey],
        input=note, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return ran.returncode, ran.stdout.strip()


def test_torchwood_and_sumdb_note_accept_our_cosignatures(
    cosigcheck: Path, witness: ServingWitness, log: TinyLog
) -> None:
    vkey = witness.vkey
    cosigner = Cosigner.from_text(vkey)
    log.grow(11)
    before = int(time.time())
    first = submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    status, out = check(cosigcheck, log.note() + first.cosignatures[0].line, log.vkey, vkey)
    assert status == 0, out
    origin, size, cosigned_at = out.split()[1], int(out.split()[3]), int(out.split()[-1])
    assert (origin, size) == (log.origin, 11)
    assert before <= cosigned_at <= int(time.time())

    # A later checkpoint, cosigned after the consistency proof, as the monitoring
    # API serves it (the log's signature and the cosignature in one note).
    log.grow(30)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof, old_size=11)
    monitor = f"{witness.url}/{hashlib.sha256(log.origin.encode()).hexdigest()}/checkpoint"
    with urllib.request.urlopen(monitor, timeout=30) as response:
        served = response.read().decode()
    status, out = check(cosigcheck, served, log.vkey, vkey)
    assert status == 0 and f"{log.origin} size 41 cosigned by witness.test/interop" in out, out


def test_altered_or_foreign_cosignatures_are_refused_by_torchwood(
    cosigcheck: Path, witness: ServingWitness, log: TinyLog
) -> None:
    vkey = witness.vkey
    monitor = f"{witness.url}/{hashlib.sha256(log.origin.encode()).hexdigest()}/checkpoint"
    if len(log.leaves) == 0:
        log.grow(3)
        submit_checkpoint(witness.url, Cosigner.from_text(vkey), log.note(), log.proof)
    with urllib.request.urlopen(monitor, timeout=30) as response:
        served = response.read().decode()
    text, signatures = served.split("\n\n")
    log_line, cosignature_line = signatures.splitlines()
    name, encoded = cosignature_line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[4 + 8 + 3] ^= 1  # a bit of the Ed25519 signature, past key ID and timestamp
    altered = f"{text}\n\n{log_line}\n{name} {base64.b64encode(bytes(raw)).decode()}\n"
    status, out = check(cosigcheck, altered, log.vkey, vkey)
    assert status == 1 and out.startswith("FAIL: note.Open"), out

    # The same note checked against another witness's key: no cosignature of theirs.
    other = Cosigner.for_key("witness.test/interop", Ed25519PrivateKey.generate().public_key())
    status, out = check(cosigcheck, served, log.vkey, other.to_text())
    assert status == 1 and "no cosignature by witness.test/interop verified" in out, out
