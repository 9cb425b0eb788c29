"""Create or update the web UI's read-only PostgreSQL role (the chart's post-install Job).

Runs in the operator image, connected with the operator's URI
(``GUESTBOOK_DSN``), whose role needs CREATEROLE. The role ``--role`` gets
LOGIN with the password in ``GUESTBOOK_WEBUI_PASSWORD``, membership of
PostgreSQL's ``pg_read_all_data`` (SELECT on every table, present and future)
and read-only transactions by default: it can read proofs and tree heads and
change nothing. Idempotent. Exit status 0 when done, 1 with one sentence.
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg2
from psycopg2 import errors, sql

# pg_read_all_data exists from PostgreSQL 14 on.
MIN_SERVER_VERSION = 140000


class RoleError(Exception):
    """The role could not be made; the message says what to do."""


def ensure_role(dsn: str, role: str, password: str) -> str:
    """Create or update ``role``; returns what was done. Raises RoleError."""
    try:
        conn = psycopg2.connect(dsn, connect_timeout=10)
    except psycopg2.OperationalError as exc:
        raise RoleError(f"cannot connect to the ledger database: {str(exc).strip()}") from None
    try:
        conn.autocommit = True
        if conn.server_version < MIN_SERVER_VERSION:
            raise RoleError(
                f"PostgreSQL {conn.server_version // 10000} has no pg_read_all_data: create the "
                "web UI's role yourself and set webui.database.existingSecret"
            )
        name = sql.Identifier(role)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            exists = cur.fetchone() is not None
            verb = "ALTER" if exists else "CREATE"
            cur.execute(
                sql.SQL(
                    verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %s"
                ).format(name),
                [password],
            )
            cur.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(name))
            cur.execute(
                sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(name)
            )
        return (
            f"role {role} {'updated' if exists else 'created'}: login, pg_read_all_data, read-only"
        )
    except errors.InsufficientPrivilege as exc:
        raise RoleError(
            f"the operator's database role may not manage roles ({exc.pgerror or exc}): give it "
            "CREATEROLE, or create the web UI's role yourself (chart README) and set "
            "webui.database.existingSecret, or set database.webuiReader.create=false"
        ) from None
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", required=True)
    args = parser.parse_args(argv)
    try:
        print(
            ensure_role(
                os.environ["GUESTBOOK_DSN"], args.role, os.environ["GUESTBOOK_WEBUI_PASSWORD"]
            )
        )
    except RoleError as exc:
        print(f"The web UI's database role was not made: {exc}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
