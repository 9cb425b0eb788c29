"""The Ledger resource as Kopf selects it, and Kopf bodies as plain dicts."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from guestbook_kube.resources import API_VERSION, GROUP, LEDGER_PLURAL, VERSION

LEDGERS = (GROUP, VERSION, LEDGER_PLURAL)


def plain(body: Mapping[str, Any], kind: str = "Ledger") -> dict[str, Any]:
    """A Kopf body as a plain, independent dict (safe to use from another thread)."""
    obj = copy.deepcopy(dict(body))
    obj.setdefault("apiVersion", API_VERSION)
    obj.setdefault("kind", kind)
    return obj
