"""Where stored objects survive a restart: the seam for a durable backend.

The in-memory ``Storage`` is always the index that serves reads; a
``Persistence`` receives every committed write (write-through) and hands all
objects back at start-up. ``NullPersistence`` keeps nothing (the default).
A SQLite implementation plugs in here without touching the API semantics.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

ResourceKey = tuple[str, str]  # (group, plural)


class Persistence(Protocol):
    """Durable store of raw objects keyed by (group, plural, namespace, name)."""

    def load(self) -> tuple[int, Iterable[tuple[ResourceKey, str, str, bytes]]]:
        """The last resourceVersion written and every stored object (raw JSON)."""
        ...

    def put(self, key: ResourceKey, namespace: str, name: str, raw: bytes, rv: int) -> None:
        """Record that the object now has this content (at resourceVersion ``rv``)."""
        ...

    def remove(self, key: ResourceKey, namespace: str, name: str, rv: int) -> None:
        """Record that the object was deleted at resourceVersion ``rv``."""
        ...

    def close(self) -> None:
        """Flush and release the backing store."""
        ...


class NullPersistence:
    """Keeps nothing: the server starts empty every time."""

    def load(self) -> tuple[int, Iterable[tuple[ResourceKey, str, str, bytes]]]:
        return 0, ()

    def put(self, key: ResourceKey, namespace: str, name: str, raw: bytes, rv: int) -> None:
        return None

    def remove(self, key: ResourceKey, namespace: str, name: str, rv: int) -> None:
        return None

    def close(self) -> None:
        return None
