"""The signing key outlives the Ledger object (decision 0132): deleting a Ledger
leaves its key Secret (the ledger lives on in the database), a Ledger made again
under the same name signs with the same key, and its old checkpoints still
verify; a lost key is never silently replaced, and restoring the backup the
chart README describes brings the Ledger back; rotating as it describes signs new
checkpoints with the new key while the old ones verify with the old."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chart_release import Release, wait_until
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import open_checkpoint
from guestbook_ledger.format.note import NoteVerifier
from guestbook_ledger.format.sth import key_id, private_key_to_pem, public_key_to_pem
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)

KEY_SECRET = "guestbook-signing-key"


def delete_ledger(system: Release) -> None:
    """``kubectl delete ledger guestbook`` while the operator runs, and wait until the
    garbage collector removed what the Ledger owns (its database Secret)."""
    system.kubectl("delete", "ledger", "guestbook", "--timeout=120s")
    wait_until(
        lambda: (
            system.kubectl.run("get", "secret", "guestbook-database", check=False).returncode != 0
        ),
        timeout=120,
        what="the garbage collector to delete what the Ledger owned",
    )


def backup(system: Release, name: str) -> str:
    """The Secret as the chart README's backup command saves it."""
    found = get_json(system, "secret", name)
    meta = found["metadata"]
    kept = {k: meta[k] for k in ("name", "labels", "annotations") if k in meta}
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": kept,
                       "type": found["type"], "data": found["data"]})  # fmt: skip


def status(system: Release) -> dict[str, Any]:
    return get_json(system, "ledger", "guestbook")["status"]  # type: ignore[no-any-return]


def test_a_ledger_made_again_signs_with_the_same_key(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(3, prefix="before"))
    wait_all_sealed(system, 3)
    wait_until(lambda: status(system).get("treeSize") == 3, timeout=60, what="tree size 3")
    before = status(system)
    assert not get_json(system, "secret", KEY_SECRET)["metadata"].get("ownerReferences")

    delete_ledger(system)
    assert get_json(system, "secret", KEY_SECRET)["data"]["private-key"]

    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    after = status(system)
    assert after["keyId"] == before["keyId"]
    assert after["verifierKey"] == before["verifierKey"]
    system.kubectl("apply", "-f", "-", input=entries_yaml(2, prefix="after"))
    wait_all_sealed(system, 5)
    wait_until(lambda: status(system).get("treeSize") == 5, timeout=60, what="tree size 5")
    # The checkpoint signed before the Ledger was deleted verifies with today's key.
    verifier = NoteVerifier.from_text(status(system)["verifierKey"])
    assert open_checkpoint(before["checkpoint"], verifier).tree_size == 3
    assert open_checkpoint(status(system)["checkpoint"], verifier).tree_size == 5
    assert_ledger_intact(system, 5)  # one tree, every head consistent with the next


def test_a_lost_key_is_not_replaced_silently_and_a_restored_backup_works(
    system: Release,
) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    key_id = status(system)["keyId"]
    saved = backup(system, KEY_SECRET)

    delete_ledger(system)
    system.kubectl("delete", "secret", KEY_SECRET)
    system.kubectl("apply", "-f", "-", input=ledger_yaml())

    def lost() -> dict[str, Any] | None:
        for condition in (get_json(system, "ledger", "guestbook").get("status") or {}).get(
            "conditions"
        ) or []:
            if condition["type"] == "Ready" and condition["reason"] == "SigningKeyLost":
                return condition  # type: ignore[no-any-return]
        return None

    condition = wait_until(lost, timeout=120, what="Ready False, SigningKeyLost")
    assert condition["status"] == "False"
    assert f"'{KEY_SECRET}'" in condition["message"] and key_id[:16] in condition["message"]
    events = get_json(system, "events", "--field-selector", "reason=SigningKeyLost")["items"]
    assert [e["type"] for e in events] == ["Warning"]
    assert system.kubectl.run("get", "secret", KEY_SECRET, check=False).returncode != 0

    system.kubectl("apply", "-f", "-", input=saved)
    wait_ledger_ready(system)
    assert status(system)["keyId"] == key_id
    system.kubectl("apply", "-f", "-", input=entries_yaml(2))
    wait_all_sealed(system, 2)
    assert_ledger_intact(system, 2)


def test_rotation_as_the_readme_describes_keeps_old_checkpoints_verifiable(
    system: Release, tmp_path: Path
) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml(workerIdleSeconds=1))
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(2, prefix="old"))
    wait_all_sealed(system, 2)
    wait_until(lambda: status(system).get("treeSize") == 2, timeout=60, what="tree size 2")
    before = status(system)

    # What `openssl genpkey -algorithm ed25519` writes: an unencrypted PKCS #8 PEM.
    key = Ed25519PrivateKey.generate()
    (tmp_path / "new.pem").write_bytes(private_key_to_pem(key))
    (tmp_path / "new.pub").write_bytes(public_key_to_pem(key.public_key()))
    system.kubectl(
        "create", "secret", "generic", "guestbook-signing-key-2",
        f"--from-file=private-key={tmp_path / 'new.pem'}",
        f"--from-file=public-key={tmp_path / 'new.pub'}",
    )  # fmt: skip
    system.kubectl(
        "patch", "ledger", "guestbook", "--type=merge",
        "-p", json.dumps({"spec": {"signingKeySecret": {"name": "guestbook-signing-key-2"}}}),
    )  # fmt: skip
    new_id = key_id(key.public_key())
    wait_until(lambda: status(system).get("keyId") == new_id, timeout=120, what="the new keyId")
    # Workers started before the rotation sign with the old key until they exit.
    wait_until(
        lambda: not [p for p in system.pods("worker") if p["status"].get("phase") == "Running"],
        timeout=120,
        what="the old workers to exit",
    )
    system.kubectl("apply", "-f", "-", input=entries_yaml(2, prefix="new"))
    wait_all_sealed(system, 4)
    wait_until(lambda: status(system).get("treeSize") == 4, timeout=60, what="tree size 4")
    after = status(system)
    assert after["verifierKey"] != before["verifierKey"]
    new_verifier = NoteVerifier.from_text(after["verifierKey"])
    old_verifier = NoteVerifier.from_text(before["verifierKey"])
    assert open_checkpoint(after["checkpoint"], new_verifier).tree_size == 4
    assert open_checkpoint(before["checkpoint"], old_verifier).tree_size == 2
    assert_ledger_intact(system, 4)  # heads of both keys, each consistent with the next
