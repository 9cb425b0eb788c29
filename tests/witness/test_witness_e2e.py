"""End to end: the Helm chart's operator runs a Ledger whose witness is our own
`guestbook-ledger witness` process; the worker pods send it every new checkpoint,
it cosigns after checking consistency, the Ledger's status shows the size it
holds, and the published checkpoint carries its cosignature."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from chart_release import LEDGER, Release, wait_until
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.cosignature import Cosigner, verify_cosignatures
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.store.schema import connect
from guestbook_ledger.store.witnesses import published_checkpoint
from witness_process import init_witness, run_cli, serving


def ledger_status(system: Release) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(system.kubectl("get", "ledger", LEDGER, "-o", "json"))
    return found.get("status") or {}


def test_worker_pods_get_checkpoints_cosigned_by_our_witness(
    release: Release, tmp_path: Path
) -> None:
    release.start_operator()
    ledger = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": LEDGER},
        "spec": {"entriesPerWorker": 4, "maxWorkers": 2},
    }
    release.kubectl("apply", "-f", "-", input=json.dumps(ledger))
    release.kubectl("wait", "--for=condition=Ready", f"ledger/{LEDGER}", "--timeout=120s")
    log_vkey = ledger_status(release)["verifierKey"]
    origin = NoteVerifier.from_text(log_vkey).name

    state = tmp_path / "state"
    cosigner = Cosigner.from_text(init_witness(state, "witness.test/e2e"))
    with serving(state, "--log", log_vkey) as witness:
        patch = {"spec": {"witnessQuorum": 1, "witnesses": [
            {"name": cosigner.name, "verifierKey": witness.vkey, "url": witness.url}]}}  # fmt: skip
        release.kubectl("patch", "ledger", LEDGER, "--type=merge", "-p", json.dumps(patch))
        count = 10
        entries = [
            {"apiVersion": "ledger.guestbook.io/v1alpha1", "kind": "GuestbookEntry",
             "metadata": {"name": f"entry-{i}"},
             "spec": {"ledger": LEDGER, "author": "Ada", "message": f"Message {i}"}}
            for i in range(count)
        ]  # fmt: skip
        release.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(entries))

        def witnessed() -> dict[str, Any] | None:
            status = ledger_status(release)
            mine = [w for w in status.get("witnesses") or [] if w.get("name") == cosigner.name]
            return mine[0] if mine and mine[0].get("treeSize") == count else None

        shown = wait_until(witnessed, timeout=300, interval=1, what="the witness to hold all")
        assert "error" not in shown, shown

    # What the witness says it holds, from its own store.
    held = run_cli("witness", "show", "--state", str(state)).stdout.splitlines()
    assert held[1].startswith(f"{origin} {count} ")

    # The published checkpoint carries the cosignature, and both signatures verify.
    conn = connect(release.dsn)
    try:
        published = published_checkpoint(conn, release.ledger_id)
    finally:
        conn.close()
    assert published is not None and published.checkpoint.tree_size == count
    note = published.note()
    assert open_checkpoint(note, NoteVerifier.from_text(log_vkey)).tree_size == count
    assert [c.cosigner for c in verify_cosignatures(note, [cosigner])] == [cosigner]
