"""`guestbook-ledger witness serve`, a real process on 127.0.0.1, speaks C2SP
tlog-witness: our worker-side client gets cosignatures that verify, a forged split
view is refused, and every bad request gets the status the spec names with a
one-sentence plain-text body."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.hashing import EMPTY_ROOT
from guestbook_ledger.format.note import NoteVerifier
from guestbook_operator.witness_client import WitnessError, add_checkpoint_body, submit_checkpoint
from witness_process import ServingWitness, TinyLog, forged_root, init_witness, post, serving

ORIGINS = [f"log.test/{name}" for name in ("client", "split", "stale", "keys", "bad", "zero",
                                            "race", "monitor", "limits")]  # fmt: skip


@pytest.fixture(scope="module")
def logs() -> dict[str, TinyLog]:
    return {origin.split("/")[1]: TinyLog(origin) for origin in ORIGINS}


@pytest.fixture(scope="module")
def witness_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Cosigner]:
    state = tmp_path_factory.mktemp("witness") / "state"
    return state, Cosigner.from_text(init_witness(state))


@pytest.fixture(scope="module")
def witness(
    witness_key: tuple[Path, Cosigner], logs: dict[str, TinyLog]
) -> Iterator[ServingWitness]:
    state, _ = witness_key
    logs_file = state.parent / "logs.txt"
    logs_file.write_text("# the test logs\n" + "".join(f"{log.vkey}\n" for log in logs.values()))
    with serving(state, "--logs", str(logs_file)) as running:
        yield running


@pytest.fixture(scope="module")
def cosigner(witness_key: tuple[Path, Cosigner]) -> Cosigner:
    return witness_key[1]


def add(witness: ServingWitness, body: bytes) -> tuple[int, str, str]:
    return post(witness.url + "/add-checkpoint", body)


def test_our_client_gets_cosignatures_that_verify(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    log = logs["client"]
    log.grow(5)
    before = int(time.time())
    first = submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    assert first.old_size == 0
    [cosignature] = first.cosignatures
    assert cosignature.cosigner == cosigner
    assert before <= cosignature.timestamp <= int(time.time())

    log.grow(8)
    # The client believes the witness holds nothing: the 409 names 5, and it resends
    # from 5 with the consistency proof 5 -> 13.
    second = submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    assert second.old_size == 5
    cosigned = log.note() + second.cosignatures[0].line
    assert open_checkpoint(cosigned, NoteVerifier.from_text(log.vkey)).tree_size == 13
    assert [c.cosigner for c in verify_cosignatures(cosigned, [cosigner])] == [cosigner]

    # The same checkpoint again, from the size held: cosigned again.
    again = submit_checkpoint(witness.url, cosigner, log.note(), log.proof, old_size=13)
    assert again.old_size == 13


def test_a_forged_split_view_is_refused_and_the_real_log_goes_on(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    log = logs["split"]
    log.grow(6)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof)

    # Another checkpoint of the same size, signed with the log's own key.
    forged = log.note(6, forged_root("another history"))
    status, media_type, body = add(witness, add_checkpoint_body(6, [], forged))
    assert status == 422
    assert media_type.startswith("text/plain")
    assert "split view" in body and body.count("\n") == 1
    with pytest.raises(WitnessError) as refused:
        submit_checkpoint(witness.url, cosigner, forged, log.proof, old_size=6)
    assert (refused.value.kind, refused.value.status) == ("refused", 422)

    # A larger forged tree with the real proof from 6: the proof leads elsewhere.
    log.grow(3)
    larger = log.note(9, forged_root("a longer other history"))
    status, _, body = add(witness, add_checkpoint_body(6, log.proof(6), larger))
    assert status == 422 and "does not verify" in body

    # Nothing was cosigned: the real next checkpoint is consistent with 6 and passes.
    result = submit_checkpoint(witness.url, cosigner, log.note(), log.proof, old_size=6)
    assert result.old_size == 6


def test_a_stale_old_size_is_answered_409_with_the_size_held(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    log = logs["stale"]
    log.grow(5)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    log.grow(4)
    for old in (0, 3, 7):
        body = add_checkpoint_body(old, log.proof(old), log.note())
        status, media_type, answer = add(witness, body)
        assert (status, media_type, answer) == (409, "text/x.tlog.size", "5\n")


def test_checkpoints_not_signed_by_the_logs_key_are_refused_403(
    witness: ServingWitness, logs: dict[str, TinyLog]
) -> None:
    log = logs["keys"]
    log.grow(3)
    stranger = TinyLog(log.origin)
    stranger.grow(3)
    status, _, body = add(witness, add_checkpoint_body(0, [], stranger.note()))
    assert status == 403 and "no signature by a known key" in body

    # The trusted key's line, with its signature altered: also 403.
    note = log.note()
    text, line = note.rsplit("\n\n", 1)
    name, encoded = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[10] ^= 1
    altered = f"{text}\n\n{name} {base64.b64encode(bytes(raw)).decode()}\n"
    status, _, body = add(witness, add_checkpoint_body(0, [], altered))
    assert status == 403 and "altered" in body


def test_an_unknown_origin_is_404(witness: ServingWitness) -> None:
    unknown = TinyLog("log.test/nobody-configured-me")
    unknown.grow(2)
    status, media_type, body = add(witness, add_checkpoint_body(0, [], unknown.note()))
    assert status == 404 and media_type.startswith("text/plain")
    assert body == "This witness does not witness the log 'log.test/nobody-configured-me'.\n"


def test_bad_proofs_are_422(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    log = logs["bad"]
    log.grow(7)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    log.grow(6)
    proof = log.proof(7)
    tampered = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    for wrong in (tampered, proof[:-1], [*proof, proof[0]], []):
        status, _, body = add(witness, add_checkpoint_body(7, wrong, log.note()))
        assert status == 422, (wrong, body)
        assert body.startswith("The consistency proof from size 7 to 13")
    # The size held with a non-empty proof is no proof either.
    status, _, _ = add(witness, add_checkpoint_body(7, proof, log.note(7)))
    assert status == 422
    # Nothing moved: the right proof still works from 7.
    status, _, _ = add(witness, add_checkpoint_body(7, proof, log.note()))
    assert status == 200


def test_size_zero_needs_the_empty_root_and_no_proof(
    witness: ServingWitness, logs: dict[str, TinyLog]
) -> None:
    log = logs["zero"]
    status, _, body = add(witness, add_checkpoint_body(0, [], log.note(0, forged_root("x"))))
    assert status == 422 and "empty tree" in body
    status, _, body = add(witness, add_checkpoint_body(0, [], log.note(0, EMPTY_ROOT)))
    assert status == 200 and body.startswith("\u2014 witness.test/w1 ")
    log.grow(4)
    status, _, body = add(witness, add_checkpoint_body(0, [EMPTY_ROOT], log.note()))
    assert status == 422 and "from size 0 must be empty" in body


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"", "the body must be an 'old <size>' line"),
        (b"old 0\n", "the body must be an 'old <size>' line"),
        (b"old -1\n\nx\n", "the first line must be 'old <size>'"),
        (b"old 01\n\nx\n", "without leading zeros"),
        (b"new 0\n\nx\n", "the first line must be 'old <size>'"),
        (b"old 0\nnot base64!\n\nx\n", "consistency proof line 1 is not a 32-byte hash"),
        (b"old 0\n" + b"AAAA\n" + b"\n" + b"x\n", "consistency proof line 1 is not a 32-byte"),
        (b"old 1\n" + (base64.b64encode(EMPTY_ROOT) + b"\n") * 64 + b"\nx\n", "at most 63 lines"),
        (b"old 0\n\nlog.test/client\n5\n", "a signed note needs a blank line"),
        (b"old 0\n\n\xff\xfe\n\n\xe2\x80\x94 a b\n", "a note must be UTF-8 text"),
        (b"old 0\n\nlog.test/client\nfive\nAAAA\n\n\xe2\x80\x94 log.test/client AAAAAAAA\n",
         "the checkpoint's second line must be the tree size"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_400_with_one_sentence(
    witness: ServingWitness, body: bytes, complaint: str
) -> None:
    status, media_type, answer = add(witness, body)
    assert status == 400, answer
    assert media_type.startswith("text/plain")
    assert complaint.lower() in answer.lower() and answer.count("\n") == 1
    assert answer[0].isupper() and answer.endswith(".\n")


def test_an_old_size_above_the_checkpoint_is_400(
    witness: ServingWitness, logs: dict[str, TinyLog]
) -> None:
    log = logs["limits"]
    log.grow(3)
    status, _, body = add(witness, add_checkpoint_body(4, [], log.note()))
    assert status == 400 and "larger than the checkpoint's size 3" in body


def test_oversize_bodies_and_other_methods_are_refused(witness: ServingWitness) -> None:
    status, media_type, body = add(witness, b"old 0\n" + b"A" * (200 * 1024))
    assert status == 413 and media_type.startswith("text/plain")
    assert "larger than 131072 bytes" in body
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as get:
        urllib.request.urlopen(witness.url + "/add-checkpoint", timeout=30)
    assert get.value.code == 405


def test_concurrent_submissions_never_roll_the_log_back(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    log = logs["race"]
    log.grow(2)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    log.grow(20)
    results: dict[int, int] = {}

    def submit(size: int) -> None:
        status, _, _ = add(witness, add_checkpoint_body(2, log.proof(2, size), log.note(size)))
        results[size] = status

    threads = [threading.Thread(target=submit, args=(size,)) for size in range(3, 23)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # All were consistent with 2; exactly one got there first, the others now
    # disagree about the old size.
    assert sorted(results.values()) == [200] + [409] * 19
    [winner] = [size for size, status in results.items() if status == 200]
    status, _, body = add(witness, add_checkpoint_body(0, [], log.note()))
    assert (status, body) == (409, f"{winner}\n")


def test_the_monitoring_api_serves_the_latest_cosigned_checkpoint(
    witness: ServingWitness, cosigner: Cosigner, logs: dict[str, TinyLog]
) -> None:
    import urllib.error
    import urllib.request

    log = logs["monitor"]
    url = f"{witness.url}/{hashlib.sha256(log.origin.encode()).hexdigest()}/checkpoint"
    with pytest.raises(urllib.error.HTTPError) as none_yet:
        urllib.request.urlopen(url, timeout=30)
    assert none_yet.value.code == 404
    log.grow(4)
    submit_checkpoint(witness.url, cosigner, log.note(), log.proof)
    with urllib.request.urlopen(url, timeout=30) as response:
        served = response.read().decode()
    assert open_checkpoint(served, NoteVerifier.from_text(log.vkey)).tree_size == 4
    assert [c.cosigner for c in verify_cosignatures(served, [cosigner])] == [cosigner]
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(f"{witness.url}/{'0' * 64}/checkpoint", timeout=30)
    assert unknown.value.code == 404
