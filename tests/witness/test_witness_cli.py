"""`guestbook-ledger witness init|serve|show` as its operator meets it: misuse is one
sentence and exit status 2, SIGTERM stops it cleanly, and what it cosigned survives
a restart (it never cosigns a split view or a smaller tree afterwards)."""

from __future__ import annotations

import socket
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosigner
from guestbook_operator.witness_client import add_checkpoint_body, submit_checkpoint
from witness_process import TinyLog, forged_root, init_witness, post, run_cli, serving


def assert_usage_error(args: list[str], complaint: str) -> None:
    ran = run_cli(*args)
    assert ran.returncode == 2, ran
    assert complaint in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) <= 3  # argparse adds its usage lines


def test_init_creates_a_private_key_and_prints_the_verifier_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    vkey = init_witness(state, "witness.example.org/w1")
    cosigner = Cosigner.from_text(vkey)  # a cosignature/v1 key (type 04)
    assert cosigner.name == "witness.example.org/w1"
    key_file = state / "witness-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert key.public_key().public_bytes_raw() == cosigner.public_key.public_bytes_raw()
    shown = run_cli("witness", "show", "--state", str(state))
    assert (shown.returncode, shown.stdout) == (0, vkey + "\n")


def test_misuse_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    log = TinyLog("log.test/cli")
    assert_usage_error(
        ["witness", "serve", "--state", str(state), "--log", log.vkey],
        f"{state}/witness.db does not exist: create the witness first with "
        f"'guestbook-ledger witness init --state {state} --name NAME'",
    )
    assert_usage_error(
        ["witness", "init", "--state", str(state), "--name", "two words"],
        "a witness name must contain no spaces, '+' or control characters",
    )
    assert_usage_error(["witness", "init", "--state", str(state)], "--name")
    assert not state.exists() or not any(state.iterdir())  # nothing was created
    vkey = init_witness(state)
    assert_usage_error(
        ["witness", "init", "--state", str(state), "--name", "witness.test/again"],
        "already holds a witness; use another --state folder",
    )
    assert run_cli("witness", "show", "--state", str(state)).stdout.strip() == vkey  # kept
    assert_usage_error(
        ["witness", "serve", "--state", str(state)],
        "name at least one log to witness with --log VKEY or --logs FILE",
    )
    assert_usage_error(
        ["witness", "serve", "--state", str(state), "--log", "log.test/cli+12345678+AAAA"],
        "--log: the verifier key of 'log.test/cli' is of type 00; only Ed25519 (01) is supported",
    )
    logs_file = tmp_path / "logs.txt"
    logs_file.write_text(f"# logs\n{log.vkey}\n\nlog.test/other {log.vkey} extra\n")
    assert_usage_error(
        ["witness", "serve", "--state", str(state), "--logs", str(logs_file)],
        f"{logs_file} line 4: a log is '<note verifier key>' or '<origin> <note verifier key>'",
    )
    assert_usage_error(
        ["witness", "serve", "--state", str(state), "--logs", str(tmp_path / "absent.txt")],
        "cannot read the logs file",
    )
    for listen in ("7380", "127.0.0.1:http", "127.0.0.1:70000"):
        assert_usage_error(
            ["witness", "serve", "--state", str(state), "--log", log.vkey, "--listen", listen],
            "--listen is HOST:PORT with a port of 0 to 65535",
        )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_usage_error(
            ["witness", "serve", "--state", str(state), "--log", log.vkey,
             "--listen", f"127.0.0.1:{port}"],
            f"cannot listen on 127.0.0.1:{port} (Address already in use); pick another",
        )  # fmt: skip

    # A database that is not one is named, not a traceback.
    broken = tmp_path / "broken"
    init_witness(broken)
    (broken / "witness.db").write_bytes(b"not a database" * 100)
    assert_usage_error(
        ["witness", "serve", "--state", str(broken), "--log", log.vkey],
        f"{broken}/witness.db is not a witness database",
    )

    # A key file swapped under the witness is noticed.
    (state / "witness-key.pem").chmod(0o600)
    (state / "witness-key.pem").write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert_usage_error(
        ["witness", "serve", "--state", str(state), "--log", log.vkey],
        "is not the key this witness was created with; restore the original key file",
    )


def test_sigterm_stops_it_cleanly_and_a_restart_keeps_what_it_cosigned(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cosigner = Cosigner.from_text(init_witness(state))
    log = TinyLog("log.test/restart")
    log.grow(9)
    with serving(state, "--log", log.vkey) as witness:
        submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
        assert witness.stop() == 0
        assert "Shutting down" in witness.output()
        assert "Traceback" not in witness.output()

    shown = run_cli("witness", "show", "--state", str(state)).stdout.splitlines()
    assert shown[1].startswith(f"{log.origin} 9 ")

    with serving(state, "--log", log.vkey) as witness:
        add = witness.url + "/add-checkpoint"
        # It remembers size 9: a request from 0 is told so,
        assert post(add, add_checkpoint_body(0, [], log.note())) == (409, "text/x.tlog.size", "9\n")
        # a split view at 9 is still refused,
        forged = log.note(9, forged_root("after the restart"))
        status, _, body = post(add, add_checkpoint_body(9, [], forged))
        assert status == 422 and "split view" in body
        # and an older, smaller checkpoint is never cosigned again.
        assert post(add, add_checkpoint_body(0, [], log.note(4)))[0] == 409
        log.grow(2)
        assert submit_checkpoint(witness.url, cosigner, log.note(), log.proof).old_size == 9

    # The refused split view was kept as evidence, with the log's signed request.
    db = sqlite3.connect(state / "witness.db")
    try:
        [(status, reason, request)] = db.execute("SELECT status, reason, request FROM refusals")
        assert status == 422 and "split view" in reason
        assert forged.encode() in request
        # The store itself refuses to go back, whatever code writes to it.
        with pytest.raises(sqlite3.IntegrityError, match="never replaced by a smaller"):
            db.execute("UPDATE checkpoints SET tree_size = 3")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            db.execute("DELETE FROM checkpoints")
    finally:
        db.close()
