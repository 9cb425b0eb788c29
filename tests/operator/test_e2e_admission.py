"""Admission through real kubectl: bad input is refused by the API, an entry
waits for its Ledger, and a deleted pending entry is withdrawn."""

from __future__ import annotations

import json

from chart_release import Release, wait_until
from guestbook_ledger.store.entries import entry_by_uid
from guestbook_ledger.store.schema import connect
from operator_e2e import get_json, ledger_yaml, wait_ledger_ready


def entry(name: str, message: str, author: str = "Ada", ledger: str = "guestbook") -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": name},
            "spec": {"ledger": ledger, "author": author, "message": message},
        }
    )


def test_bad_input_is_refused_with_a_clear_message(system: Release) -> None:
    too_long = system.kubectl.run("apply", "-f", "-", input=entry("long", "x" * 2001), check=False)
    assert too_long.returncode != 0
    assert "spec.message" in too_long.stderr and "2000" in too_long.stderr
    empty = system.kubectl.run("apply", "-f", "-", input=entry("empty", ""), check=False)
    assert empty.returncode != 0 and "spec.message" in empty.stderr
    long_author = system.kubectl.run(
        "apply", "-f", "-", input=entry("author", "hi", author="a" * 65), check=False
    )
    assert long_author.returncode != 0 and "spec.author" in long_author.stderr
    pool = system.kubectl.run(
        "apply", "-f", "-", input=ledger_yaml("inverted", minWorkers=5, maxWorkers=2), check=False
    )
    assert pool.returncode != 0 and "minWorkers must not exceed maxWorkers" in pool.stderr
    # Nothing was created by the refused requests.
    assert get_json(system, "guestbookentries")["items"] == []
    assert get_json(system, "ledgers")["items"] == []

    system.kubectl("apply", "-f", "-", input=entry("kept", "first words"))
    edit = system.kubectl.run(
        "patch", "gbe", "kept", "--type=merge", "-p", '{"spec":{"message":"other words"}}',
        check=False,
    )  # fmt: skip
    assert edit.returncode != 0 and "immutable" in edit.stderr
    assert get_json(system, "gbe", "kept")["spec"]["message"] == "first words"


def test_entry_waits_for_its_ledger_then_is_sealed(system: Release) -> None:
    system.kubectl("apply", "-f", "-", input=entry("early", "before the ledger", ledger="later"))

    def waiting() -> dict[str, str] | None:
        status = get_json(system, "gbe", "early").get("status") or {}
        for condition in status.get("conditions", []):
            if condition["type"] == "Admitted" and condition["reason"] == "LedgerNotFound":
                return condition  # type: ignore[no-any-return]
        return None

    condition = wait_until(waiting, timeout=60, what="the LedgerNotFound condition")
    assert condition["status"] == "False"
    assert '"later"' in condition["message"]
    assert get_json(system, "gbe", "early")["status"]["phase"] == "Pending"

    system.kubectl("apply", "-f", "-", input=ledger_yaml("later"))
    wait_ledger_ready(system, "later")
    system.kubectl("wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/early", "--timeout=120s")
    sealed = get_json(system, "gbe", "early")["status"]
    assert sealed["leafIndex"] == 0 and sealed["treeSize"] >= 1


def test_sealed_entry_stays_in_the_ledger_when_its_resource_is_deleted(
    system: Release,
) -> None:
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entry("gone", "soon deleted"))
    system.kubectl("wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/gone", "--timeout=120s")
    uid = get_json(system, "gbe", "gone")["metadata"]["uid"]
    system.kubectl("delete", "gbe", "gone")
    conn = connect(system.dsn)
    try:
        stored = entry_by_uid(conn, system.ledger_id, uid)
    finally:
        conn.close()
    assert stored is not None and stored.state == "sealed" and stored.leaf_index == 0
