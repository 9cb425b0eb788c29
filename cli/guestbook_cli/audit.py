"""`guestbook-ledger audit`: recompute a stored ledger and name every mismatch.

Exit status 0 when the ledger is intact (with a one-line summary), 1 when the
audit found damage (one line per mismatch), 2 when the audit could not run
(malformed DSN or ledger name, unknown ledger, unreachable database).
"""

from __future__ import annotations

import argparse
import sys

from guestbook_ledger.usage import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="recompute a ledger from its stored entries and check every signed tree head",
        description=(
            "Recompute the Merkle tree of a ledger from its stored entries, compare every "
            "stored node and signed tree head, verify the signatures and the consistency "
            "between successive heads. Exit 0 when intact, 1 naming every mismatch, "
            "2 when the audit cannot run."
        ),
    )
    parser.add_argument(
        "--dsn",
        required=True,
        help="PostgreSQL connection string, e.g. postgresql://user@host:5432/ledger",
    )
    parser.add_argument(
        "--ledger", required=True, metavar="NAMESPACE/NAME", help="e.g. default/guestbook"
    )
    parser.add_argument(
        "--progress", action="store_true", help="report entries checked so far on stderr"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import psycopg2
    from guestbook_ledger.store.audit import audit_ledger
    from guestbook_ledger.store.errors import StoreError
    from guestbook_ledger.store.ledgers import split_ledger_name
    from guestbook_ledger.store.schema import connect

    ledger: str = args.ledger
    try:
        split_ledger_name(ledger)
        conn = connect(args.dsn)
    except StoreError as exc:
        raise UsageError(str(exc)) from None

    def progress(checked: int) -> None:
        print(f"audited {checked} entries…", file=sys.stderr, flush=True)

    try:
        report = audit_ledger(conn, ledger, progress=progress if args.progress else None)
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except psycopg2.errors.UndefinedTable:
        raise UsageError(
            "This database holds no ledger store (its tables are missing); check the DSN."
        ) from None
    except psycopg2.Error as exc:
        reason = " ".join(str(exc).split())
        raise UsageError(f"The database failed during the audit ({reason}); try again.") from None
    finally:
        conn.close()

    entries = _count(report.entries_checked, "sealed entry", "sealed entries")
    heads = _count(report.heads_checked, "signed tree head", "signed tree heads")
    if report.ok:
        nodes = _count(report.nodes_checked, "tree node", "tree nodes")
        print(
            f"ledger {report.ledger} is intact: {entries}, {heads} and {nodes} checked; "
            f"root {report.root_hash.hex()} at size {report.entries_checked}"
        )
        return 0
    mismatches = _count(len(report.mismatches), "mismatch", "mismatches")
    print(f"ledger {report.ledger} FAILED the audit: {mismatches} in {entries} and {heads}")
    for mismatch in report.mismatches:
        print(f"  [{mismatch.kind}] {mismatch.description}")
    return 1


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"
