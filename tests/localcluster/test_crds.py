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
