"""The project's CRDs on the real API server: printer columns, validation, immutability."""

from __future__ import annotations

import json

from guestbook_localcluster.kubectl import Kubectl

ENTRY = {
    "apiVersion": "ledger.guestbook.io/v1alpha1",
    "kind": "GuestbookEntry",
    "metadata": {"name": "hello"},
    "spec": {"author": "Ada", "message": "Hello, ledger"},
}


def test_entries_validate_and_show_their_columns(crds: Kubectl, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=json.dumps(ENTRY))
    header = kubectl("get", "gbe").splitlines()[0].split()
    assert header == ["NAME", "AUTHOR", "PHASE", "INDEX", "HASH", "AGE"]
    empty = {**ENTRY, "metadata": {"name": "empty"}, "spec": {"message": ""}}
    refused = kubectl.run("apply", "-f", "-", input=json.dumps(empty), check=False)
    assert refused.returncode != 0 and "spec.message" in refused.stderr
    changed = {**ENTRY, "spec": {"author": "Ada", "message": "Rewritten"}}
    refused = kubectl.run("apply", "-f", "-", input=json.dumps(changed), check=False)
    assert refused.returncode != 0 and "immutable" in refused.stderr.lower()


def test_a_new_entry_shows_pending_before_anyone_writes_its_status(
    crds: Kubectl, kubectl: Kubectl
) -> None:
    # No operator runs here: Pending is the CRD's default (decision 0097), so the
    # create's answer, a read and the printer column show it at once.
    created = json.loads(kubectl("create", "-f", "-", "-o", "json", input=json.dumps(ENTRY)))
    assert created["status"] == {"phase": "Pending"}
    assert kubectl("get", "gbe", "hello", "-o", "jsonpath={.status.phase}") == "Pending"
    row = kubectl("get", "gbe", "hello", "--no-headers").split()
    assert row[:3] == ["hello", "Ada", "Pending"]


def _ledger(name: str, spec: dict[str, object]) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "Ledger",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def test_ledger_origin_is_immutable(crds: Kubectl, kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=_ledger("l", {"origin": "book.example/l"}))
    changed = kubectl.run(
        "patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"origin":"other.example/l"}}',
        check=False,
    )  # fmt: skip
    assert changed.returncode == 1 and "spec.origin is immutable" in changed.stderr
    removed = kubectl.run(
        "patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"origin":null}}', check=False
    )
    assert removed.returncode == 1 and "cannot be added or removed" in removed.stderr
    kubectl("patch", "ldg", "l", "--type=merge", "-p", '{"spec":{"maxWorkers":3}}')


def test_ledger_origin_cannot_be_added_later_or_hold_spaces(
    crds: Kubectl, kubectl: Kubectl
) -> None:
    kubectl("apply", "-f", "-", input=_ledger("plain", {}))
    added = kubectl.run(
        "patch", "ldg", "plain", "--type=merge", "-p", '{"spec":{"origin":"a.example"}}',
        check=False,
    )  # fmt: skip
    assert added.returncode == 1 and "cannot be added or removed" in added.stderr
    spaced = kubectl.run("apply", "-f", "-", input=_ledger("sp", {"origin": "a b"}), check=False)
    assert spaced.returncode == 1 and "spec.origin" in spaced.stderr


def test_ledger_witness_quorum_cannot_exceed_the_witnesses(crds: Kubectl, kubectl: Kubectl) -> None:
    witness = {"name": "w.example/1", "verifierKey": "w.example/1+00000000+BA==", "url": "http://w"}
    too_many = kubectl.run(
        "apply", "-f", "-", input=_ledger("w", {"witnesses": [witness], "witnessQuorum": 2}),
        check=False,
    )  # fmt: skip
    assert too_many.returncode == 1
    assert "witnessQuorum must not exceed the number of witnesses" in too_many.stderr
    bad_url = kubectl.run(
        "apply", "-f", "-", input=_ledger("u", {"witnesses": [dict(witness, url="w")]}),
        check=False,
    )  # fmt: skip
    assert bad_url.returncode == 1 and "spec.witnesses[0].url" in bad_url.stderr
    kubectl("apply", "-f", "-", input=_ledger("ok", {"witnesses": [witness], "witnessQuorum": 1}))
