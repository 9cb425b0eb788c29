"""`guestbook-ledger monitor` against the real web UI serving a real ledger in
PostgreSQL over HTTP: it follows the ledger's growth across runs, keeping the
last verified checkpoint; a forged split view (a second history under the same
origin, signed with the same key, served by a second web UI) is reported as a
fork whether it is of the same size or larger; tiles and bundles altered in the
database are caught; an older checkpoint that is a prefix is accepted."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format import entry_record, leaf_hash, verifier_key
from guestbook_ledger.format.checkpoint import SignedCheckpoint
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, cosign
from guestbook_ledger.format.tile_verification import perfect_root
from guestbook_ledger.store import (
    Connection,
    NewEntry,
    admit_entries,
    ensure_ledger,
    seal_batch,
    tree_head_at,
)
from guestbook_ledger.store.witnesses import record_cosignatures, set_witness_policy
from monitor_command import run_monitor
from starlette.applications import Starlette
from webui_server import serve


def seal(
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    start: int,
    count: int,
    *,
    message: str = "Message",
) -> None:
    entries = [
        NewEntry(f"entry-{i}", f"uid-{i}", f"Author {i}", f"{message} {i}", "2026-11-25T12:00:00Z")
        for i in range(start, start + count)
    ]
    admit_entries(store, ledger, entries)
    seal_batch(store, ledger, signer, max_entries=count)


def one_line(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert result.returncode == status, (result.stdout, result.stderr)
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert text in result.stdout, result.stdout


def tamper(store: Connection, statement: str, *values: object) -> None:
    """Change sealed rows as an attacker with the database server could (the
    append-only triggers switched off for the transaction)."""
    with store, store.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(statement, values)
        assert cur.rowcount == 1


def test_the_monitor_follows_the_ledger_across_runs(
    make_app: Callable[..., Starlette],
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    state = tmp_path / "state"
    seal(store, ledger, signer, 0, 5)
    with serve(make_app()) as url:
        first = run_monitor(url, vkey, state)
        one_line(first, 0, f"OK: {origin} first seen at size 5 with root ")
        assert first.stderr == ""  # a short catch-up shows no progress
        head5 = tree_head_at(store, ledger, 5)
        assert isinstance(head5, SignedCheckpoint)
        assert (state / "checkpoint").read_text() == head5.note()

        one_line(run_monitor(url, vkey, state), 0, f"{origin} at size 5 with root")
        assert "unchanged since the last run" in run_monitor(url, vkey, state).stdout

        seal(store, ledger, signer, 5, 295)
        grown = run_monitor(url, vkey, state)
        one_line(grown, 0, f"{origin} grew from size 5 to 300 with root ")
        assert (
            "295 new entries, 3 tiles and 2 entry bundles re-derived, consistent with size 5"
            in (grown.stdout)
        )

        seal(store, ledger, signer, 300, 800)  # 1100: four more bundles, with progress
        long = run_monitor(url, vkey, state)
        one_line(long, 0, "grew from size 300 to 1100")
        assert long.stderr.splitlines() == [
            f"monitor: re-derived {done} of 4 entry bundles ({done * 25}%)" for done in range(1, 5)
        ]

        # The witness policy changes and only size 5 was cosigned: /checkpoint serves an
        # older checkpoint. It is a prefix of what was verified, so no fork; the state
        # keeps size 1100.
        witness = Ed25519PrivateKey.generate()
        cosigner = Cosigner.for_key("w.example/1", witness.public_key())
        entry = {
            "name": cosigner.name,
            "verifierKey": cosigner.to_text(),
            "url": "http://127.0.0.1:9",
        }
        set_witness_policy(store, ledger, quorum=1, witnesses=[entry])
        line = cosign(witness, cosigner.name, head5.text(), 1_700_000_000).to_line()
        record_cosignatures(store, ledger, 5, [Cosignature(cosigner, 1_700_000_000, line)])
        older = run_monitor(url, vkey, state)
        one_line(
            older, 0, f"{origin} at size 5 is older than size 1100 verified before, and a prefix"
        )
        assert "grew from size 1100" not in older.stdout
        assert (state / "checkpoint").read_text().splitlines()[1] == "1100"

    # Usage: another log's key, a state of another log, a log that cannot be reached.
    other_key = verifier_key("ledger.guestbook.io/other/log", signer.public_key())
    refused = run_monitor("http://127.0.0.1:9", other_key, state)
    assert refused.returncode == 2
    assert "does not hold a checkpoint of this log" in refused.stderr
    unreachable = run_monitor("http://127.0.0.1:9", vkey, state)
    one_line(unreachable, 3, "UNAVAILABLE: checkpoint: ConnectError")
    bad = run_monitor("http://127.0.0.1:9", "garbage", state)
    assert bad.returncode == 2 and "--vkey: a note verifier key is" in bad.stderr


def test_a_forged_split_view_is_reported_as_a_fork(
    make_app: Callable[..., Starlette],
    store: Connection,
    ledger: str,
    namespace: str,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    # The forgery: a second ledger under the same origin and signing key, holding
    # another history; a second web UI serves it, as a server showing one visitor
    # a different log than the next would.
    forged = f"{namespace}-forged/guestbook"
    ensure_ledger(store, forged, public_key=signer.public_key(), origin=origin)
    seal(store, ledger, signer, 0, 5)
    seal(store, forged, signer, 0, 5, message="Forged")
    state = tmp_path / "state"
    with (
        serve(make_app()) as honest,
        serve(make_app(namespace=f"{namespace}-forged", ledger="guestbook")) as tampered,
    ):
        one_line(run_monitor(honest, vkey, state), 0, "first seen at size 5")
        kept = (state / "checkpoint").read_bytes()

        same_size = run_monitor(tampered, vkey, state)
        one_line(same_size, 1, "FORK: the log's checkpoint of size 5 has root ")
        assert "but the checkpoint verified before at that size has root" in same_size.stdout
        assert (state / "checkpoint").read_bytes() == kept

        seal(store, forged, signer, 5, 3, message="Forged")
        larger = run_monitor(tampered, vkey, state)
        one_line(larger, 1, "FORK: the log's tree of size 8 does not extend the tree of size 5")
        assert (state / "checkpoint").read_bytes() == kept

        # The honest log, grown, still verifies against the state.
        seal(store, ledger, signer, 5, 3)
        one_line(run_monitor(honest, vkey, state), 0, "grew from size 5 to 8")


def test_bad_tiles_and_bundles_are_caught(
    make_app: Callable[..., Starlette],
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    seal(store, ledger, signer, 0, 600)  # two full level-0 tiles, tile/1/000.p/2 above them
    with serve(make_app()) as url:
        one_line(run_monitor(url, vkey, tmp_path / "before"), 0, "first seen at size 600")

        # A stored record altered: its bundle no longer hashes to the level-0 tile.
        altered = entry_record(
            ledger=ledger,
            entry="entry-3",
            uid="uid-3",
            author="Author 3",
            message="Message 3, rewritten",
            submitted_at="2026-11-25T12:00:00Z",
        )
        tamper(store, "UPDATE entries SET record = %s WHERE leaf_index = 3", altered)
        bad_bundle = run_monitor(url, vkey, tmp_path / "bundle")
        one_line(bad_bundle, 1, "BAD TILE: entry 3 in tile/entries/000 hashes to")
        assert "but tile/0/000 says" in bad_bundle.stdout
        assert not (tmp_path / "bundle" / "checkpoint").exists()

        # The leaf hash rewritten to match: the bundle fits its tile, but the tile no
        # longer hashes to its hash in the level above.
        tamper(store, "UPDATE entries SET leaf_hash = %s WHERE leaf_index = 3", leaf_hash(altered))
        bad_tile = run_monitor(url, vkey, tmp_path / "tile")
        one_line(bad_tile, 1, "BAD TILE: tile/0/000 hashes to ")
        assert "but tile/1/000.p/2 says" in bad_tile.stdout

        # The level-8 node rewritten too: every tile agrees, but not with the signed root.
        with store, store.cursor() as cur:
            cur.execute("SELECT leaf_hash FROM entries WHERE leaf_index < 256 ORDER BY leaf_index")
            node = perfect_root([bytes(row[0]) for row in cur.fetchall()])
        tamper(store, "UPDATE tree_nodes SET hash = %s WHERE level = 8 AND node_index = 0", node)
        bad_root = run_monitor(url, vkey, tmp_path / "root")
        one_line(bad_root, 1, "BAD TILE: the tiles of size 600 hash to root ")
        assert "but the checkpoint's root is" in bad_root.stdout

        # A monitor that verified the tree before the tampering sees nothing new to
        # fetch at size 600, and its kept checkpoint still matches.
        one_line(run_monitor(url, vkey, tmp_path / "before"), 0, "unchanged since the last run")


def test_the_monitor_waits_out_the_web_uis_rate_limit(
    make_app: Callable[..., Starlette],
    store: Connection,
    ledger: str,
    signer: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    """A first run over 1,100 entries needs more requests than a low per-client
    limit allows at once: the monitor waits each 429's Retry-After and succeeds."""
    origin = f"ledger.guestbook.io/{ledger}"
    vkey = verifier_key(origin, signer.public_key())
    seal(store, ledger, signer, 0, 1100)
    with serve(make_app(requests_per_second=4, request_burst=4)) as url:
        result = run_monitor(url, vkey, tmp_path / "state")
    one_line(result, 0, f"OK: {origin} first seen at size 1100 with root ")
