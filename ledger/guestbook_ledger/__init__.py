"""Guestbook Ledger core: the ledger format (records, hashes, proofs, tree heads)
and its PostgreSQL store. It imports no other component (decision 0141): the
command line is guestbook_cli, Kubernetes access guestbook_kube."""

__version__ = "0.1.0"
