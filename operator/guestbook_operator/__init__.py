"""The Kopf operator that manages GuestbookEntry and Ledger resources, and its workers."""
