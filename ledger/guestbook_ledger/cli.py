"""The `guestbook-ledger` command: one entry point, one subcommand per component.

Each subcommand lives in the module that owns it and exposes
``register(subparsers)``; heavy imports (kopf, uvicorn, ...) happen only when
that subcommand runs, so `guestbook-ledger verify ...` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# (module, what it adds) — listed explicitly so a reader sees every command here.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "guestbook_ledger.verify_cli",  # verify inclusion | consistency | sth
    "guestbook_ledger.audit_cli",  # audit --dsn --ledger
    "guestbook_ledger.bench_cli",  # bench ledger | ...
    "guestbook_devcluster.cli",  # devcluster --port --kubeconfig
    "guestbook_operator.cli",  # operator, worker, dev
    "guestbook_webui.cli",  # webui --port --kubeconfig --dsn
)


class UsageError(Exception):
    """Malformed input: the command exits with status 2 and this message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guestbook-ledger",
        description="A guestbook whose messages form a tamper-evident Merkle ledger.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # component not present in this installation
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except UsageError as exc:
        print(f"guestbook-ledger {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
