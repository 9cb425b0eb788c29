"""Sealing and witnessing for the web UI's browser tests, done through the ledger
store as the operator, a worker and a witness would: sign through the web UI's
JSON API, admit, seal, publish the entries' statuses, and cosign checkpoints
with a witness key (cosignature/v1) stored as the workers store them."""

from __future__ import annotations

import json
import time

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, cosign
from guestbook_ledger.store import Connection, admit_entry, seal_batch, tree_head_at
from guestbook_ledger.store.witnesses import record_cosignatures, set_witness_policy
from guestbook_localcluster.kubectl import Kubectl


def sign_and_seal(url: str, kubectl: Kubectl, store: Connection, ledger: str,
                  signer: Ed25519PrivateKey, messages: list[str]) -> list[str]:  # fmt: skip
    """Sign through the web UI's JSON API, then admit, seal and publish the statuses
    as the operator and a worker would; returns the entry names."""
    names = []
    for message in messages:
        response = httpx.post(f"{url}/entries", json={"message": message}, timeout=30)
        response.raise_for_status()
        created = response.json()
        admit_entry(
            store,
            ledger,
            entry=created["name"],
            uid=created["uid"],
            author="",
            message=message,
            submitted_at=created["createdAt"],
        )
        names.append(created["name"])
    result = seal_batch(store, ledger, signer)
    for sealed in result.sealed:
        status = {
            "phase": "Sealed",
            "leafIndex": sealed.leaf_index,
            "leafHash": sealed.leaf_hash.hex(),
            "treeSize": result.tree_head.tree_size,
            "rootHash": result.tree_head.root_hash.hex(),
        }
        kubectl("patch", "gbe", sealed.entry_name, "--subresource=status", "--type=merge",
             "-p", json.dumps({"status": status}))  # fmt: skip
    return names


class TestWitness:
    """A witness key named ``name`` that cosigns the ledger's checkpoints."""

    __test__ = False  # not a test class

    def __init__(self, name: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.cosigner = Cosigner.for_key(name, self.key.public_key())

    @property
    def policy_entry(self) -> dict[str, str]:
        return {
            "name": self.cosigner.name,
            "verifierKey": self.cosigner.to_text(),
            "url": "http://127.0.0.1:9/never-contacted",
        }

    def cosign(self, store: Connection, ledger: str, tree_size: int) -> None:
        """Cosign the ledger's checkpoint at ``tree_size`` and store it."""
        head = tree_head_at(store, ledger, tree_size)
        assert head is not None and hasattr(head, "text")
        now = int(time.time())
        line = cosign(self.key, self.cosigner.name, head.text(), now).to_line()
        record_cosignatures(store, ledger, tree_size, [Cosignature(self.cosigner, now, line)])


def require_witnesses(
    store: Connection, ledger: str, witnesses: list[TestWitness], quorum: int
) -> None:
    """Make ``quorum`` of ``witnesses`` the ledger's witness policy."""
    set_witness_policy(store, ledger, quorum=quorum, witnesses=[w.policy_entry for w in witnesses])
