"""GuestbookEntry resources as the page and the JSON API show them (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from guestbook_kube.resources import DEFAULT_LEDGER

SHORT_HASH = 12
"""Hex digits of a leaf hash shown in the list (48 bits: enough to tell entries apart)."""


def entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON representation of an entry in every response and event: the
    resource's identity (name, namespace, uid, creation time), its ``spec`` and its
    ``status`` (empty until the operator writes one), without server bookkeeping
    such as managedFields. Everything a verifier needs to rebuild the entry record
    is here: the ledger, name, uid, author, message and ``createdAt``."""
    meta = entry.get("metadata") or {}
    spec = dict(entry.get("spec") or {})
    spec.setdefault("ledger", DEFAULT_LEDGER)
    spec.setdefault("author", "")
    return {
        "name": str(meta.get("name", "")),
        "namespace": str(meta.get("namespace", "")),
        "uid": str(meta.get("uid", "")),
        "createdAt": str(meta.get("creationTimestamp") or ""),
        "spec": spec,
        "status": dict(entry.get("status") or {}),
    }


def phase(entry: Mapping[str, Any]) -> str:
    """The entry's phase as shown: Pending until the operator writes another."""
    return str((entry.get("status") or {}).get("phase") or "Pending")


def failure(entry: Mapping[str, Any]) -> str:
    """Why a Failed entry could not be recorded (its False condition's message)."""
    status = entry.get("status") or {}
    if status.get("phase") != "Failed":
        return ""
    for condition in status.get("conditions") or ():
        if condition.get("status") == "False" and condition.get("message"):
            return str(condition["message"])
    return "The ledger could not record this entry."


DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidirectional embeddings, overrides and isolates (RLO and kin)."""


def has_direction_controls(entry: Mapping[str, Any]) -> bool:
    """True when the entry's author or message holds a direction control character."""
    spec = entry.get("spec") or {}
    text = f"{spec.get('author') or ''}{spec.get('message') or ''}"
    return any(char in DIRECTION_CONTROLS for char in text)


def display_time(timestamp: object) -> str:
    """An RFC 3339 UTC time as people read it: ``2026-11-25 11:56:14 UTC`` (seconds)."""
    if not isinstance(timestamp, str) or len(timestamp) < 19:
        return ""
    return f"{timestamp[:10]} {timestamp[11:19]} UTC"


def short_hash(leaf_hash: object) -> str:
    """The first SHORT_HASH hex digits of a leaf hash, or "" when there is none."""
    return leaf_hash[:SHORT_HASH] if isinstance(leaf_hash, str) else ""


def newest_first(
    entries: Iterable[Mapping[str, Any]], arrival: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """``entries`` ordered newest first: by creation time, then ledger position (not
    yet sealed = newest), then ``arrival`` (the order this process first saw them
    in, by name), then name. creationTimestamp has only second precision, hence
    the tie-breakers."""
    seen = arrival or {}

    def key(entry: Mapping[str, Any]) -> tuple[str, float, int, str]:
        meta = entry.get("metadata") or {}
        name = str(meta.get("name") or "")
        index = (entry.get("status") or {}).get("leafIndex")
        position = float(index) if isinstance(index, int) else float("inf")
        return (str(meta.get("creationTimestamp") or ""), position, seen.get(name, -1), name)

    return [dict(entry) for entry in sorted(entries, key=key, reverse=True)]
