"""Manifests the conformance tests apply (the project's real CRDs plus small objects)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
ENTRY_CRD = CRDS / "guestbookentries.yaml"
LEDGER_CRD = CRDS / "ledgers.yaml"


def entry(name: str, message: str = "hello", author: str = "alice", **extra: str) -> str:
    """A GuestbookEntry manifest as YAML."""
    labels = "".join(f"\n    {k}: {v!r}" for k, v in extra.items())
    label_block = f"\n  labels:{labels}" if extra else ""
    return (
        "apiVersion: ledger.guestbook.io/v1alpha1\n"
        "kind: GuestbookEntry\n"
        f"metadata:\n  name: {name}{label_block}\n"
        f"spec:\n  author: {author!r}\n  message: {message!r}\n"
    )
