"""The same requests, in the same order, to our witness and to litewitness
(filippo.io/torchwood v0.6.1, written by others): both answer with the same
statuses, the same 409 bodies, and cosignatures that verify — except where
litewitness v0.6.1 predates the tlog-witness revision we follow (decision 0102),
which each such case names."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import litewitness as LITE
import pytest
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.hashing import EMPTY_ROOT
from guestbook_operator.witness_client import add_checkpoint_body
from witness_process import TinyLog, forged_root, init_witness, post, serving


@pytest.fixture(scope="module")
def log() -> TinyLog:
    return TinyLog("log.test/differential")


@pytest.fixture(scope="module")
def witnesses(
    tmp_path_factory: pytest.TempPathFactory, log: TinyLog
) -> Iterator[dict[str, tuple[str, Cosigner]]]:
    binaries = LITE.build_litewitness(tmp_path_factory.mktemp("litewitness-bin"))
    ours_state = tmp_path_factory.mktemp("ours") / "state"
    ours_key = Cosigner.from_text(init_witness(ours_state, "witness.test/ours"))
    # A short folder: ssh-agent's socket path must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="lw-") as folder, LITE.litewitness(
        binaries, Path(folder), origin=log.origin, log_vkey=log.vkey
    ) as lite, serving(ours_state, "--log", log.vkey) as ours:  # fmt: skip
        yield {
            "ours": (ours.url, ours_key),
            "litewitness": (lite.url, Cosigner.for_key(lite.name, lite.key.public_key())),
        }


Case = tuple[str, Callable[[TinyLog], bytes], int | None]
"""(what, request body from the log, the status litewitness v0.6.1 answers where it
differs from the current spec, else None)."""


def _unsigned(log: TinyLog) -> bytes:
    return add_checkpoint_body(0, [], TinyLog(log.origin).note(0, EMPTY_ROOT))


CASES: list[Case] = [
    ("malformed body", lambda log: b"old x\n\n" + log.note().encode(), None),
    ("another key's checkpoint", _unsigned, None),
    ("unknown origin", lambda log: add_checkpoint_body(0, [], TinyLog("log.test/x").note(0)),
     403),  # v0.6.1: 403 for an unknown origin; the spec says 404
    ("size 0 with a non-empty root",
     lambda log: add_checkpoint_body(0, [], log.note(0, forged_root("zero"))),
     200),  # v0.6.1 does not check the root at size 0; the spec asks 422
    ("first checkpoint, size 5", lambda log: add_checkpoint_body(0, [], log.note(5)), None),
    ("stale old size", lambda log: add_checkpoint_body(0, [], log.note(5)), None),
    ("old size above the checkpoint", lambda log: add_checkpoint_body(9, [], log.note(5)), None),
    ("split view at 5",
     lambda log: add_checkpoint_body(5, [], log.note(5, forged_root("split"))), None),
    ("wrong proof 5 -> 9",
     lambda log: add_checkpoint_body(5, log.proof(5, 9)[:-1], log.note(9)), None),
    ("forged root at 9 with the real proof",
     lambda log: add_checkpoint_body(5, log.proof(5, 9), log.note(9, forged_root("9"))), None),
    ("consistent 5 -> 9", lambda log: add_checkpoint_body(5, log.proof(5, 9), log.note(9)), None),
    ("the same checkpoint again", lambda log: add_checkpoint_body(9, [], log.note(9)), None),
    ("a smaller checkpoint", lambda log: add_checkpoint_body(9, [], log.note(7)), None),
]  # fmt: skip


def test_our_witness_answers_as_litewitness_does(
    witnesses: dict[str, tuple[str, Cosigner]], log: TinyLog
) -> None:
    log.grow(9)
    differences = []
    for what, body_of, lite_differs in CASES:
        body = body_of(log)
        answers = {}
        for name, (url, cosigner) in witnesses.items():
            status, media_type, text = post(url + "/add-checkpoint", body)
            if status == 200:
                checkpoint = body.split(b"\n\n", 1)[1].decode()
                assert [c.cosigner for c in verify_cosignatures(checkpoint + text, [cosigner])] == [
                    cosigner
                ], (name, what)
                text = "cosigned"
            elif status == 409:
                assert media_type.split(";")[0] == "text/x.tlog.size", (name, what)
            else:
                text = ""  # the wording of refusals is each witness's own
            answers[name] = (status, text)
        ours, lite = answers["ours"], answers["litewitness"]
        if lite_differs is None:
            if ours != lite:
                differences.append((what, ours, lite))
        else:
            assert lite[0] == lite_differs, (what, lite)
            assert ours[0] != lite_differs, (what, ours)
    assert differences == []
