"""`guestbook-ledger witness init|serve|show`: run a C2SP tlog-witness.

Exit status 2 with one sentence on stderr for misuse (a missing or already
used state folder, a malformed log key, an address that cannot be listened on).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import logging
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import Any

from guestbook_ledger.usage import UsageError

from guestbook_witness.identity import (
    IdentityError,
    WitnessIdentity,
    check_witness_name,
    create_key_file,
    read_key_file,
)
from guestbook_witness.logs import LogConfigError, LogList, log_list, parse_log_line, read_logs_file
from guestbook_witness.state import StateError, WitnessStore

DEFAULT_LISTEN = "127.0.0.1:7380"
_LOG_HELP = (
    "a log to witness: its note verifier key (the origin is the key's name), or "
    "'ORIGIN VKEY'; repeat for more logs"
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    witness = subparsers.add_parser(
        "witness",
        help="run a C2SP tlog-witness that cosigns the checkpoints of the logs it trusts",
        description="A C2SP tlog-witness with its own Ed25519 key (cosignature/v1) and its own "
        "store: it cosigns a log's checkpoint only if the log's signature verifies and the "
        "checkpoint is consistent with the last one it cosigned.",
    )
    actions = witness.add_subparsers(dest="action", metavar="ACTION", required=True)

    init = actions.add_parser(
        "init",
        help="create a witness: its key and its store; print its verifier key",
        description="Create the witness's Ed25519 key and its SQLite store in --state, and "
        "print its cosignature/v1 verifier key (give it to the logs' operators).",
    )
    init.add_argument("--state", required=True, type=Path, metavar="DIR", help="state folder")
    init.add_argument(
        "--name", required=True, help="the witness's key name, e.g. witness.example.org/w1"
    )
    init.set_defaults(func=run_init)

    serve = actions.add_parser(
        "serve",
        help="serve the tlog-witness HTTP API (POST /add-checkpoint)",
        description="Serve POST /add-checkpoint and GET /<origin hash>/checkpoint as "
        "c2sp.org/tlog-witness specifies, for the logs named by --log and --logs.",
    )
    serve.add_argument("--state", required=True, type=Path, metavar="DIR", help="state folder")
    serve.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN})",
    )
    serve.add_argument("--log", action="append", default=[], metavar="VKEY", help=_LOG_HELP)
    serve.add_argument(
        "--logs",
        type=Path,
        metavar="FILE",
        help="a file of logs, one per line as for --log ('#' starts a comment)",
    )
    serve.set_defaults(func=run_serve)

    show = actions.add_parser(
        "show",
        help="print the witness's verifier key and the checkpoints it holds",
        description="Print the verifier key, then one line per log: origin, size, root "
        "hash (base64) and when it was cosigned.",
    )
    show.add_argument("--state", required=True, type=Path, metavar="DIR", help="state folder")
    show.set_defaults(func=run_show)


def run_init(args: argparse.Namespace) -> int:
    folder: Path = args.state
    try:
        check_witness_name(args.name)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (folder / "witness.db").exists():
            raise StateError(f"{folder} already holds a witness; use another --state folder")
        key = create_key_file(folder)
        WitnessStore.create(folder, args.name, key.public_key())
    except OSError as exc:
        raise UsageError(f"cannot create the state folder {folder}: {exc.strerror}") from None
    except (IdentityError, StateError) as exc:
        raise UsageError(str(exc)) from None
    print(WitnessIdentity(args.name, key).verifier_key())
    print(
        f"Created the witness {args.name} in {folder}; give the verifier key above to the "
        "logs' operators and keep the folder safe: a witness whose state is lost must be "
        "retired, not restarted.",
        file=sys.stderr,
    )
    return 0


def load_witness(folder: Path) -> tuple[WitnessIdentity, WitnessStore]:
    """The identity and store in ``folder``. Raises UsageError when it holds no witness
    or its key file does not match the recorded key."""
    try:
        store = WitnessStore.open(folder)
        key = read_key_file(folder)
        name, public_key = store.identity()
    except (IdentityError, StateError) as exc:
        raise UsageError(str(exc)) from None
    except sqlite3.Error as exc:
        raise UsageError(f"{folder}/witness.db cannot be read ({exc}); restore it") from None
    if key.public_key().public_bytes_raw() != public_key:
        raise UsageError(
            f"the key in {folder}/witness-key.pem is not the key this witness was created with; "
            "restore the original key file"
        )
    return WitnessIdentity(name, key), store


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6). Raises UsageError when malformed."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen is HOST:PORT with a port of 0 to 65535; got {text!r}")
    return host, int(port)


def configured_logs(args: argparse.Namespace) -> LogList:
    try:
        entries = [parse_log_line(line) for line in args.log]
        if args.logs is not None:
            entries += read_logs_file(args.logs)
    except LogConfigError as exc:
        raise UsageError(str(exc)) from None
    if not entries:
        raise UsageError("name at least one log to witness with --log VKEY or --logs FILE")
    return log_list(entries)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from guestbook_witness.server import create_app

    host, port = parse_listen(args.listen)
    logs = configured_logs(args)
    identity, store = load_witness(args.state)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        errno = getattr(exc, "errno", None)
        reason = os.strerror(errno) if errno else str(exc)
        raise UsageError(
            f"cannot listen on {args.listen} ({reason}); pick another --listen address"
        ) from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    bound_host, bound_port = listener.getsockname()[:2]
    logging.getLogger("guestbook_witness").info(
        "witness %s (%s) listening on %s:%d for %d log(s): %s",
        identity.name,
        identity.verifier_key(),
        bound_host,
        bound_port,
        len(logs.origins()),
        ", ".join(logs.origins()),
    )
    # uvicorn stops on SIGTERM/SIGINT after the requests in flight are answered, then
    # raises the signal again; a handler of our own makes that SIGTERM a clean exit 0.
    signal.signal(signal.SIGTERM, lambda number, frame: None)
    config = uvicorn.Config(
        create_app(identity, logs, store),
        timeout_graceful_shutdown=10,
        limit_concurrency=64,
        log_level="info",
    )
    try:
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
    return 0


def run_show(args: argparse.Namespace) -> int:
    identity, store = load_witness(args.state)
    print(identity.verifier_key())
    for held in store.all_held():
        when = datetime.datetime.fromtimestamp(held.cosigned_at, datetime.UTC)
        root = base64.b64encode(held.root_hash).decode("ascii")
        print(f"{held.origin} {held.tree_size} {root} {when.isoformat().replace('+00:00', 'Z')}")
    return 0
