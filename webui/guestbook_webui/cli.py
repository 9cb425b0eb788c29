"""`guestbook-ledger webui`: serve the web UI."""

from __future__ import annotations

import argparse
from typing import Any

from guestbook_ledger.cli import UsageError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    web = subparsers.add_parser(
        "webui",
        help="serve the web UI where people sign the guestbook",
        description="Serve the guestbook page, its live updates and the JSON API "
        "(entries, tree heads, proofs). Flags override GUESTBOOK_NAMESPACE, "
        "GUESTBOOK_LEDGER, GUESTBOOK_DSN and KUBECONFIG.",
    )
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    web.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig file (default: the pod's service account, else $KUBECONFIG)",
    )
    web.add_argument("--namespace", default=None, help="namespace of the entries (default default)")
    web.add_argument("--ledger", default=None, help="Ledger to sign (default guestbook)")
    web.add_argument(
        "--dsn",
        default=None,
        help="ledger database, read only, for tree heads and proofs "
        "(e.g. postgresql://reader@db/guestbook)",
    )
    web.set_defaults(func=run_webui)


def run_webui(args: argparse.Namespace) -> int:
    import uvicorn

    from guestbook_webui.app import create_app
    from guestbook_webui.kube import KubeApi, KubeUnavailableError
    from guestbook_webui.settings import SettingsError, settings_from_env

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535; got {args.port}")
    try:
        settings = settings_from_env(
            namespace=args.namespace, ledger=args.ledger, kubeconfig=args.kubeconfig, dsn=args.dsn
        )
        kube = KubeApi.from_kubeconfig(settings.kubeconfig)
    except (SettingsError, KubeUnavailableError) as exc:
        raise UsageError(str(exc)) from None
    app = create_app(settings, kube=kube)
    # Open event streams would hold a graceful shutdown forever; give them 2 s.
    config = uvicorn.Config(
        app, host=args.host, port=args.port, timeout_graceful_shutdown=2, log_level="info"
    )
    try:
        uvicorn.Server(config).run()
    except OSError as exc:
        raise UsageError(
            f"Cannot listen on {args.host}:{args.port} ({exc}); pick another --port."
        ) from None
    return 0
