"""The operator's handlers, one module per concern. Importing this package
registers them all with Kopf:

- ``login``: Kopf's credentials, from the same loader as the workers'
- ``operations``: startup settings, metrics, liveness probe, shutdown
- ``ledgers``: a Ledger gets its database rows, signing key and Secrets
- ``entries``: admission of GuestbookEntries, withdrawal on deletion
- ``pool``: per Ledger, the worker Job scaled with the backlog, and its status
- ``repair``: level-triggered repair of entry status, withdrawals, retention
- ``audit``: the periodic audit Job
- ``witnesses``: catch-up rounds for witnesses behind the newest checkpoint
"""

from guestbook_operator.handlers import (
    audit,
    entries,
    ledgers,
    login,
    operations,
    pool,
    repair,
    witnesses,
)

__all__ = ["audit", "entries", "ledgers", "login", "operations", "pool", "repair", "witnesses"]
