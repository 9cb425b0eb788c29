"""End to end through real kubectl: entries become leaves, and every claim the
resources make can be checked independently."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from audit_trail import AuditTrail
from chart_release import Release, wait_until
from guestbook_ledger.format.record import entry_record
from guestbook_ledger.store.proofs import consistency_proof, inclusion_proof
from guestbook_ledger.store.schema import connect
from operator_e2e import entries_yaml, get_json, ledger_yaml, wait_all_sealed, wait_ledger_ready


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 Merkle Tree Hash, written out plainly (independent of the project)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_applied_entries_are_sealed_and_verifiable(system: Release, tmp_path: Path) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml(entriesPerWorker=3, maxWorkers=3))
    wait_ledger_ready(system)
    count = 12
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))
    entries = wait_all_sealed(system, count)

    # Each leaf hash is SHA-256(0x00 || record) of what the resource says.
    records: dict[int, bytes] = {}
    for entry in entries:
        meta, spec, status = entry["metadata"], entry["spec"], entry["status"]
        record = entry_record(
            ledger=system.ledger_id,
            entry=meta["name"],
            uid=meta["uid"],
            author=spec["author"],
            message=spec["message"],
            submitted_at=meta["creationTimestamp"],
        )
        assert status["leafHash"] == hashlib.sha256(b"\x00" + record).hexdigest()
        assert 0 <= status["leafIndex"] < status["treeSize"]
        records[status["leafIndex"]] = record
    assert sorted(records) == list(range(count)), "leaf indexes are contiguous from 0"

    # The Ledger's root is the independently recomputed Merkle tree hash.
    def ledger_caught_up() -> dict[str, Any] | None:
        found: dict[str, Any] = get_json(system, "ledger", "guestbook")
        status = found["status"]
        return found if status.get("treeSize") == count and status.get("pending") == 0 else None

    ledger = wait_until(ledger_caught_up, timeout=60, what="the Ledger's status to show all")
    status = ledger["status"]
    root = mth([records[i] for i in range(count)]).hex()
    assert status["rootHash"] == root
    assert "signedTreeHead" not in status  # every head since checkpoints is a checkpoint
    assert status["origin"] == f"ledger.guestbook.io/{system.ledger_id}"

    # The checkpoint verifies with the published verifier key, offline.
    checkpoint_file = tmp_path / "checkpoint"
    checkpoint_file.write_text(
        system.kubectl("get", "ledger", "guestbook", "-o", "jsonpath={.status.checkpoint}")
    )
    result = cli("verify", "checkpoint", str(checkpoint_file), "--vkey", status["verifierKey"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"at size {count} with root {root}" in result.stdout

    # Inclusion of every entry in the current tree, and consistency of the tree it
    # was first sealed into with the current one, with the auditor CLI.
    conn = connect(system.dsn)
    try:
        for entry in entries:
            st = entry["status"]
            proof = inclusion_proof(conn, system.ledger_id, st["leafIndex"], count)
            result = cli(
                "verify", "inclusion",
                "--leaf-hash", st["leafHash"],
                "--index", str(st["leafIndex"]),
                "--size", str(count),
                "--root", root,
                "--proof", ",".join(h.hex() for h in proof),
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            proof = consistency_proof(conn, system.ledger_id, st["treeSize"], count)
            result = cli(
                "verify", "consistency",
                "--size1", str(st["treeSize"]),
                "--size2", str(count),
                "--root1", st["rootHash"],
                "--root2", root,
                "--proof", ",".join(h.hex() for h in proof),
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
    finally:
        conn.close()

    # A wrong claim is refused by the same CLI.
    first = entries[0]["status"]
    wrong = cli(
        "verify", "inclusion",
        "--leaf-hash", "00" * 32,
        "--index", str(first["leafIndex"]),
        "--size", str(count),
        "--root", root,
        "--proof", ",".join(h.hex() for h in [bytes(32)] * 4),
    )  # fmt: skip
    assert wrong.returncode == 1

    # The printer columns show the hash with kubectl get.
    table = system.kubectl("get", "guestbookentries")
    assert entries[0]["status"]["leafHash"] in table
    assert "Sealed" in table

    # The workers go away once the queue is empty.
    wait_until(
        lambda: get_json(system, "ledger", "guestbook")["status"].get("activeWorkers") == 0,
        timeout=90,
        what="the worker pool to return to zero",
    )


def test_sealing_an_entry_costs_one_status_write(system: Release, audit: AuditTrail) -> None:
    # Pending is the CRD's default, not a write (decision 0097): each entry's
    # status is written once, by the worker that sealed it.
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    count = 20
    system.kubectl("apply", "-f", "-", input=entries_yaml(count))
    entries = wait_all_sealed(system, count)
    writes = audit.calls("patch", "guestbookentries/status", at_least=count)
    per_entry = {e["metadata"]["name"]: 0 for e in entries}
    for call in writes:
        if call.name in per_entry:
            per_entry[call.name] += 1
    assert per_entry == {name: 1 for name in per_entry}, per_entry
    writers = {c.username for c in writes if c.name in per_entry}
    assert len(writers) == 1 and "worker" in writers.pop(), writers
