"""Errors the ledger store raises, each one sentence that says what to do.

``ValueError`` subclasses mean the caller's input is malformed or refers to
something that does not exist (a command exits with status 2); nothing was written.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the ledger store raises."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached or refused the connection."""


class InvalidDsnError(StoreError, ValueError):
    """The connection string is not a valid libpq DSN or URI."""


class UnknownLedgerError(StoreError, ValueError):
    """The ledger named does not exist in this database."""


class LedgerNameError(StoreError, ValueError):
    """A ledger name is not of the form NAMESPACE/NAME with Kubernetes names."""


class EntryConflictError(StoreError, ValueError):
    """An entry uid is already admitted with different content."""


class EntryStateError(StoreError, ValueError):
    """The entry is not in the state the operation needs (e.g. withdrawing a sealed entry)."""


class UnknownEntryError(StoreError, ValueError):
    """No entry with this uid exists in the ledger."""


class SigningKeyError(StoreError, ValueError):
    """The signing key is not registered for the ledger."""


class TreeSizeError(StoreError, ValueError):
    """A tree size or leaf index is out of range for the stored tree."""


class TreeDamagedError(StoreError):
    """The stored tree does not match its latest signed head; sealing refuses to extend it."""


class MissingNodeError(StoreError):
    """A node the tree must have is not stored: the database was damaged."""


class OriginError(StoreError, ValueError):
    """A ledger's checkpoint origin is malformed, or differs from the one it was created with."""


class TileNotFoundError(StoreError, ValueError):
    """A tile or entry bundle asked for lies beyond the sealed tree."""
