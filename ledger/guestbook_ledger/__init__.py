"""Guestbook Ledger core: the ledger format (records, hashes, proofs, tree heads),
its PostgreSQL store and the command-line interface that every component shares."""

__version__ = "0.1.0"
