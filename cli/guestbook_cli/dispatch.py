"""The `guestbook-ledger` command: one entry point, one subcommand per component.

The package above every component (decision 0141): it names each component's
commands, and no component imports it. Each subcommand lives in the module that
owns it and exposes
``register(subparsers)``. The table below names each subcommand's module and
one-line help, so `guestbook-ledger --help` lists every command without
importing any of them, and running a command imports only its own module: a
worker pod is a fresh process per start, and importing every component (the
job runner, Starlette, ...) cost each one a noticeable share of its start-up
CPU (decision 0050). Heavy imports inside a module (kopf, uvicorn, ...) still
happen only when its command runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from guestbook_ledger.usage import UsageError


@dataclass(frozen=True)
class Subcommand:
    """A command ``name`` whose parser ``module.<hook>(subparsers)`` adds.

    ``help`` is the line shown in the parent's ``--help``; it must match the
    help the module registers (tests check it).
    """

    name: str
    module: str
    help: str
    hook: str = "register"


# Listed explicitly so a reader sees every command here.
SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "verify",
        "guestbook_cli.verify",
        "check inclusion and consistency proofs, proof files, checkpoints and signed tree heads "
        "offline",
    ),
    Subcommand(
        "audit",
        "guestbook_cli.audit",
        "recompute a ledger from its stored entries and check every signed tree head",
    ),
    Subcommand(
        "monitor",
        "guestbook_cli.monitor",
        "follow a ledger's tiles, prove each new checkpoint consistent with the last one",
    ),
    Subcommand("bench", "guestbook_bench.cli", "run a benchmark and print its figures as Markdown"),
    Subcommand(
        "cluster",
        "guestbook_localcluster.cli",
        "build and run the local Kubernetes control plane (upstream binaries)",
    ),
    Subcommand(
        "operator",
        "guestbook_operator.cli",
        "run the Kopf operator that manages Ledgers and GuestbookEntries",
    ),
    Subcommand(
        "worker",
        "guestbook_operator.cli",
        "claim, hash and seal a ledger's pending entries (what worker Jobs run)",
    ),
    Subcommand(
        "audit-job",
        "guestbook_operator.cli",
        "audit a ledger and report into its status (what audit Jobs run)",
    ),
    Subcommand(
        "dev",
        "guestbook_localcluster.cli",
        "run the whole system locally (Kubernetes, PostgreSQL, the Helm chart)",
        hook="register_dev",
    ),
    Subcommand("webui", "guestbook_webui.cli", "serve the web UI where people sign the guestbook"),
    Subcommand(
        "witness",
        "guestbook_witness.cli",
        "run a C2SP tlog-witness that cosigns the checkpoints of the logs it trusts",
    ),
)


def installed(module: str) -> bool:
    """Whether ``module``'s top-level package is installed (imports nothing)."""
    return importlib.util.find_spec(module.partition(".")[0]) is not None


if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time
    _SubParsers = argparse._SubParsersAction


class LazySubcommands(_SubParsers):
    """Subparsers whose commands are built by their modules, imported only when chosen.

    Use as ``parser.add_subparsers(action=LazySubcommands, ...)`` and add
    commands with :meth:`add_lazy`. Until a command is chosen it is a
    placeholder that only carries its help line; when argparse dispatches to
    it, its module registers its parsers into a scratch set of subparsers and
    the real parser replaces the placeholder.
    """

    def __init__(
        self,
        option_strings: Sequence[str],
        prog: str,
        parser_class: type[argparse.ArgumentParser],
        **kwargs: Any,
    ) -> None:
        super().__init__(option_strings, prog, parser_class, **kwargs)
        self.prog_prefix = prog
        self.parser_class = parser_class
        self.lazy: dict[str, Subcommand] = {}

    def add_lazy(self, command: Subcommand) -> None:
        """List ``command``, unless its component is not installed."""
        if installed(command.module):
            self.add_parser(command.name, help=command.help)
            self.lazy[command.name] = command

    def load(self, name: str) -> argparse.ArgumentParser:
        """The parser that ``name``'s module builds. Raises KeyError for an unknown name,
        ImportError when the module cannot be imported."""
        command = self.lazy[name]
        scratch = LazySubcommands(
            option_strings=[], prog=self.prog_prefix, parser_class=self.parser_class
        )
        getattr(importlib.import_module(command.module), command.hook)(scratch)
        parser: argparse.ArgumentParser = scratch.choices[name]
        return parser

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, list)  # argparse passes [command, *its arguments]
        name = values[0]
        if name in self.lazy:
            # ``choices`` is the name -> parser map that argparse dispatches on.
            self.choices[name] = self.load(name)
            del self.lazy[name]
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guestbook-ledger",
        description="A guestbook whose messages form a tamper-evident Merkle ledger.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, action=LazySubcommands
    )
    assert isinstance(subparsers, LazySubcommands)
    for command in SUBCOMMANDS:
        subparsers.add_lazy(command)
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
