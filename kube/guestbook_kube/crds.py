"""Where the CustomResourceDefinition manifests are: a checkout's ``crds/`` or the
copy an installed wheel carries (``guestbook_kube/_data/crds``)."""

from __future__ import annotations

from pathlib import Path

CRD_FILES = ("guestbookentries.yaml", "ledgers.yaml", "kopf-peering.yaml")


def crds_dir() -> Path:
    """The folder of CRD manifests; FileNotFoundError says what to do when missing."""
    here = Path(__file__).resolve()
    candidates = [here.parents[2] / "crds", here.parent / "_data" / "crds"]
    for candidate in candidates:
        if (candidate / CRD_FILES[0]).is_file():
            return candidate
    raise FileNotFoundError(
        "The CRD manifests are missing (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall guestbook-ledger."
    )
