"""Proven by code nobody here wrote: Go's golang.org/x/mod/sumdb/note verifies the
served checkpoint with the Ledger's verifier key, and sumdb/tlog reads the served
tiles (tlog.TileHashReader authenticates each against the checkpoint), checks
every entry bundle against the level-0 hashes, accepts inclusion proofs built
from the tiles (tlog.ProveRecord, tlog.CheckRecord) and consistency with an
older checkpoint (tlog.ProveTree, tlog.CheckTree)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_bench.stored import BENCH_LEDGER, grow_ledger
from guestbook_ledger.format.checkpoint import verifier_key
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    ensure_ledger,
    latest_checkpoint,
    seal_batch,
)
from starlette.applications import Starlette
from tlog_interop import build_tlogcheck, run_tlogcheck
from webui_server import serve

# Go's sumdb/tlog client reads tiles as fast as it can and does not wait out a
# 429: without the per-client request limit here (the limit has tests of its
# own), as behind a CDN that serves the immutable tiles.
UNLIMITED = {"requests_per_second": 0}


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tlogcheck(tmp_path_factory.mktemp("go"))


def seal(store: Connection, ledger: str, signer: Ed25519PrivateKey, start: int, count: int) -> None:
    entries = [
        NewEntry(f"entry-{i}", f"uid-{i}", f"Author {i}", f"Message {i} ✓", "2026-11-25T12:00:00Z")
        for i in range(start, start + count)
    ]
    admit_entries(store, ledger, entries)
    seal_batch(store, ledger, signer, max_entries=count)


def test_go_sumdb_verifies_checkpoint_tiles_bundles_and_proofs(
    tlogcheck: Path,
    make_app: Callable[..., Starlette],
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"  # the default origin of a Ledger
    seal(store, ledger, signer, 0, 7)
    old = latest_checkpoint(store, ledger)
    assert old is not None
    old_file = tmp_path / "checkpoint-7"
    old_file.write_text(old.note())
    seal(store, ledger, signer, 7, 293)
    seal(store, ledger, signer, 300, 300)  # 600 leaves: 2 full level-0 tiles, partial ones above
    vkey = verifier_key(origin, signer.public_key())

    with serve(make_app(**UNLIMITED)) as url:
        result = run_tlogcheck(tlogcheck, url, vkey, old=old_file)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "note.Open verified the checkpoint of " + origin + " at size 600" in result.stdout
        assert "600 entries in bundles hash to the authenticated level-0 tile hashes" in (
            result.stdout
        )
        assert "tlog.CheckRecord accepted 600 inclusion proofs" in result.stdout
        assert "tlog.CheckTree proved size 600 consistent with size 7" in result.stdout

        # Another key (even under the same name) is refused by note.Open.
        other = verifier_key(origin, Ed25519PrivateKey.generate().public_key())
        refused = run_tlogcheck(tlogcheck, url, other)
        assert refused.returncode == 1
        assert refused.stdout.startswith("FAIL: checkpoint:")


def test_go_sumdb_reads_a_tree_with_full_higher_level_tiles(
    tlogcheck: Path,
    make_app: Callable[..., Starlette],
    store: Connection,
) -> None:
    # 66,000 leaves: a full level-1 tile (65,536 leaves) and a partial level-2 tile.
    signer = Ed25519PrivateKey.generate()
    ensure_ledger(store, BENCH_LEDGER, public_key=signer.public_key())
    grow_ledger(store, signer, 66_000, progress=lambda _: None)
    vkey = verifier_key("ledger.guestbook.io/bench/ledger", signer.public_key())

    with serve(make_app(namespace="bench", ledger="ledger", **UNLIMITED)) as url:
        result = run_tlogcheck(tlogcheck, url, vkey)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "at size 66000" in result.stdout
    assert "66000 entries in bundles hash" in result.stdout
