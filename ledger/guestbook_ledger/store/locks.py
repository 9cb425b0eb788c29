"""PostgreSQL advisory lock keys, in one place so no two uses collide.

Single-key (bigint) and two-key (int, int) advisory locks live in separate key
spaces in PostgreSQL, so the constants below cannot clash with a ledger id.
"""

from __future__ import annotations

MIGRATIONS_LOCK = 0x6C6564676572  # "ledger" in ASCII; one bigint key for schema migrations.

SEAL_LOCK_CLASS = 0x4C44  # two-key lock (SEAL_LOCK_CLASS, ledger id): one sealer per ledger.

# Two-key lock (WITNESS_LOCK_CLASS, ledger id): one witness round per ledger at a time, so
# two rounds never send the same witness competing checkpoints (a false 409).
WITNESS_LOCK_CLASS = 0x5749
