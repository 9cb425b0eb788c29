"""The `guestbook-ledger` command line: every command is listed with its help, and
running one imports only the module that owns it (a worker pod is a fresh process
per start; importing every component made each start cost more CPU)."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest
from guestbook_bench.cli import BENCHES
from guestbook_cli.dispatch import SUBCOMMANDS, LazySubcommands, Subcommand, main

# Modules no command should load unless it is the one that needs them.
HEAVY = ("guestbook_localcluster", "guestbook_webui", "starlette", "uvicorn", "kopf", "kubernetes")


def loaded_after(*argv: str) -> list[str]:
    """The heavy top-level packages loaded by running ``guestbook-ledger *argv`` in a fresh
    interpreter (which must exit through argparse, e.g. for ``--help``)."""
    script = (
        "import json, sys\n"
        "from guestbook_cli.dispatch import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def registered_help(command: Subcommand) -> dict[str, str | None]:
    """Name -> help line of every command that ``command``'s module registers."""
    scratch = LazySubcommands(
        option_strings=[], prog="guestbook-ledger", parser_class=argparse.ArgumentParser
    )
    getattr(importlib.import_module(command.module), command.hook)(scratch)
    return {action.dest: action.help for action in scratch._get_subactions()}


def test_help_lists_every_command_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # help lines wrap
    for command in SUBCOMMANDS:
        assert f"{command.name} {command.help}" in out


def test_bench_help_lists_every_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ledger root of 10⁶ leaves in memory" in out
    for bench in BENCHES:
        assert f"{bench.name} {bench.help}" in out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["sign"], "argument COMMAND: invalid choice: 'sign' (choose from 'verify', 'audit'"),
        (["bench", "speed"], "argument BENCHMARK: invalid choice: 'speed'"),
        ([], "the following arguments are required: COMMAND"),
        (["worker"], "the following arguments are required: --ledger"),
    ],
)
def test_unknown_or_incomplete_commands_exit_2_naming_the_problem(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_worker_batch_size_is_checked_by_the_worker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--ledger", "default/guestbook", "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["bench", "--help"],
        ["worker", "--help"],
        ["audit-job", "--help"],
        ["verify", "sth", "--help"],
        ["witness", "serve", "--help"],  # the witness's server (uvicorn) loads only to serve
    ],
)
def test_listing_or_parsing_a_command_loads_no_other_component(argv: list[str]) -> None:
    assert loaded_after(*argv) == []


def test_a_command_loads_its_own_component_only() -> None:
    assert loaded_after("cluster", "--help") == ["guestbook_localcluster"]
    assert "guestbook_localcluster" not in loaded_after("bench", "e2e", "--help")
    assert "guestbook_operator" not in loaded_after("bench", "webui", "--help")
    assert loaded_after("webui", "--help") == ["guestbook_webui"]


@pytest.mark.parametrize("command", SUBCOMMANDS + BENCHES, ids=lambda c: c.name)
def test_the_listed_help_is_the_help_its_module_registers(command: Subcommand) -> None:
    registered = registered_help(command)
    assert registered[command.name] == command.help


def test_every_command_a_module_registers_is_listed() -> None:
    listed = {(c.module, c.name) for c in SUBCOMMANDS + BENCHES}
    for command in SUBCOMMANDS + BENCHES:
        for name in registered_help(command):
            assert (command.module, name) in listed, f"{command.module} registers {name}"
