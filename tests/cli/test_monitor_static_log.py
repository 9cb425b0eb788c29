"""`guestbook-ledger monitor` against a log served as static files (as tlog-tiles
logs such as Tessera's POSIX storage are), by Python's own http.server on
127.0.0.1: a log that has grown past the checkpoint it serves may have deleted
the partial tiles whose full tile exists (tlog-tiles allows it), and the monitor
then takes the full tile's prefix."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import leaf_hash, sign_checkpoint, verifier_key
from guestbook_ledger.format.tile_verification import perfect_root
from guestbook_ledger.format.tiles import TilePath, entry_bundle, tile_paths
from guestbook_ledger.format.tree import root_hash
from monitor_command import run_monitor

ORIGIN = "static.example/log"
KEY = Ed25519PrivateKey.generate()
RECORDS = [f"static record {i}".encode() for i in range(800)]


def write_log(root: Path, size: int, served_size: int, records: list[bytes] = RECORDS) -> None:
    """The tiles and bundles of the tree of ``size`` over ``records`` (every
    partial width of every size up to it, as a log accumulates them) and the
    checkpoint of ``served_size``."""
    leaves = [leaf_hash(r) for r in records]
    levels = [leaves[:size]]
    while len(levels[-1]) >= 256:
        below = levels[-1]
        levels.append(
            [perfect_root(below[i : i + 256]) for i in range(0, len(below) // 256 * 256, 256)]
        )
    for grown in range(1, size + 1):
        for path in tile_paths(grown):
            assert path.level is not None
            hashes = levels[path.level][path.first_node() : path.first_node() + path.width]
            target = root / path.to_path()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"".join(hashes))
            if path.level == 0:
                bundle = root / TilePath(None, path.index, path.width).to_path()
                bundle.parent.mkdir(parents=True, exist_ok=True)
                bundle.write_bytes(
                    entry_bundle(records[path.first_node() : path.first_node() + path.width])
                )
    head = sign_checkpoint(
        KEY,
        ledger="static/log",
        origin=ORIGIN,
        tree_size=served_size,
        root_hash=root_hash(leaves[:served_size]),
        timestamp="2026-12-06T00:00:00Z",
    )
    (root / "checkpoint").write_text(head.note())


@pytest.fixture
def static_log(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "log"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def monitor(url: str, state: Path) -> subprocess.CompletedProcess[str]:
    return run_monitor(url, verifier_key(ORIGIN, KEY.public_key()), state)


def test_deleted_partial_tiles_are_cut_from_their_full_tile(
    static_log: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = static_log
    write_log(root, 300, 300)
    first = monitor(url, tmp_path / "state")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "first seen at size 300" in first.stdout

    # The log grew to 800 but still serves the checkpoint of 600, and deleted the
    # partial level-0 tile and bundle 002.p/88 now that 002 is full.
    write_log(root, 800, 600)
    (root / "tile/0/002.p/88").unlink()
    (root / "tile/entries/002.p/88").unlink()
    grown = monitor(url, tmp_path / "state")
    assert grown.returncode == 0, grown.stdout + grown.stderr
    assert "grew from size 300 to 600" in grown.stdout

    # Without the full tile either, the log cannot be read: exit 3, state unchanged.
    write_log(root, 800, 700)
    (root / "tile/0/002.p/188").unlink()
    (root / "tile/0/002").unlink()
    missing = monitor(url, tmp_path / "state")
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert missing.stdout.startswith("UNAVAILABLE: the log answered tile/0/002 with HTTP 404")
    assert (tmp_path / "state" / "checkpoint").read_text().splitlines()[1] == "600"


def test_an_older_checkpoint_must_be_a_prefix_of_the_kept_tree(
    static_log: tuple[str, Path], tmp_path: Path
) -> None:
    url, root = static_log
    write_log(root, 700, 700)
    assert monitor(url, tmp_path / "state").returncode == 0
    # A lagging copy of the same log: an older checkpoint, a prefix. Fine.
    write_log(root, 700, 600)
    lagging = monitor(url, tmp_path / "state")
    assert lagging.returncode == 0, lagging.stdout + lagging.stderr
    assert (
        "at size 600 is older than size 700 verified before, and a prefix of it" in lagging.stdout
    )
    # Another history from entry 650 on, signed by the same key: its checkpoint of
    # 600 agrees, but its tree of 700 is not the one kept.
    other = RECORDS[:650] + [f"rewritten {i}".encode() for i in range(650, 800)]
    shutil.rmtree(root)
    root.mkdir()
    write_log(root, 700, 600, other)
    forked = monitor(url, tmp_path / "state")
    assert forked.returncode == 1, forked.stdout + forked.stderr
    assert forked.stdout.startswith(
        "FORK: the log's checkpoint of size 600 is not a prefix of the tree"
    )
    assert (tmp_path / "state" / "checkpoint").read_text().splitlines()[1] == "700"
