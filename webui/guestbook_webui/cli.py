"""`guestbook-ledger webui`: serve the web UI."""

from __future__ import annotations

import argparse
from typing import Any

from guestbook_ledger.usage import UsageError


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
    limits = web.add_argument_group(
        "limits", "Defaults in webui/README.md (Limits); each has a GUESTBOOK_* variable too."
    )
    limits.add_argument("--public-url", help="the page's public URL, e.g. https://gb.example/")
    limits.add_argument(
        "--hsts-max-age", type=int, help="send Strict-Transport-Security over TLS (seconds; 0 off)"
    )
    limits.add_argument(
        "--trusted-proxies",
        help="comma-separated addresses/CIDRs whose X-Forwarded-For/Forwarded are believed",
    )
    for flag, kind, text in (
        ("--submissions-per-minute", int, "signatures per client per minute (0 off)"),
        ("--submission-burst", int, "signatures a client may send at once"),
        ("--requests-per-second", int, "requests per client per second (0 off)"),
        ("--request-burst", int, "requests a client may send at once"),
        ("--max-event-streams", int, "open /events streams at most (then 503)"),
        ("--feed-window", int, "newest entries kept in memory"),
        ("--header-timeout", float, "seconds for a request's line and headers"),
        ("--body-timeout", float, "seconds for a request's body"),
        ("--keep-alive-timeout", int, "seconds an idle keep-alive connection stays open"),
    ):
        limits.add_argument(flag, type=kind, help=text)
    web.set_defaults(func=run_webui)


def run_webui(args: argparse.Namespace) -> int:
    import uvicorn

    from guestbook_webui.app import create_app
    from guestbook_webui.kube import KubeApi, KubeUnavailableError
    from guestbook_webui.server import uvicorn_config
    from guestbook_webui.settings import LIMIT_ENV, SettingsError, settings_from_env

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535; got {args.port}")
    try:
        limits = {name: getattr(args, name) for name in LIMIT_ENV}
        if limits["trusted_proxies"] is not None:
            limits["trusted_proxies"] = tuple(
                part.strip() for part in limits["trusted_proxies"].split(",") if part.strip()
            )
        settings = settings_from_env(
            namespace=args.namespace,
            ledger=args.ledger,
            kubeconfig=args.kubeconfig,
            dsn=args.dsn,
            **limits,
        )
        kube = KubeApi.from_kubeconfig(settings.kubeconfig)
    except (SettingsError, KubeUnavailableError) as exc:
        raise UsageError(str(exc)) from None
    app = create_app(settings, kube=kube)
    # Open event streams would hold a graceful shutdown forever; give them 2 s.
    config = uvicorn_config(
        app,
        settings,
        host=args.host,
        port=args.port,
        timeout_graceful_shutdown=2,
        log_level="info",
    )
    try:
        uvicorn.Server(config).run()
    except OSError as exc:
        raise UsageError(
            f"Cannot listen on {args.host}:{args.port} ({exc}); pick another --port."
        ) from None
    return 0
