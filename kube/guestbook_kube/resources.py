"""The resources Guestbook Ledger defines, named once for every component.

The CRDs in ``crds/`` are the source; these names must match them (a test
reads the CRD files and compares).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guestbook_kube.client import resource_path

GROUP = "ledger.guestbook.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

ENTRY_KIND = "GuestbookEntry"
ENTRY_PLURAL = "guestbookentries"
LEDGER_KIND = "Ledger"
LEDGER_PLURAL = "ledgers"

DEFAULT_LEDGER = "guestbook"
"""The Ledger an entry belongs to when its ``spec.ledger`` is empty (the CRD's default)."""

LABEL_LEDGER = f"{GROUP}/ledger"
LABEL_ROLE = f"{GROUP}/role"


def entry_ledger(entry: Mapping[str, Any]) -> str:
    """The name of the Ledger a GuestbookEntry belongs to."""
    spec = entry.get("spec") or {}
    return str(spec.get("ledger") or DEFAULT_LEDGER)


def entries_path(namespace: str | None, name: str | None = None) -> str:
    """The REST path of a namespace's GuestbookEntries (all namespaces for None), or of one."""
    return resource_path(API_VERSION, ENTRY_PLURAL, namespace, name)


def ledgers_path(namespace: str | None, name: str | None = None) -> str:
    """The REST path of a namespace's Ledgers (all namespaces for None), or of one."""
    return resource_path(API_VERSION, LEDGER_PLURAL, namespace, name)
