"""The web UI's pure ASGI middleware (pure ASGI, so event streams pass untouched).

- TrustedProxyMiddleware: the client's address and scheme from forwarding
  headers, only when the peer is a trusted proxy (decision 0121).
- SecurityHeadersMiddleware: the pages load scripts and styles only from this
  server and are never framed, so a message someone wrote can never run as
  script even if escaping failed somewhere; HSTS over TLS when configured.
- RateLimitMiddleware: per-client token buckets, 429 with Retry-After (0120).
- CrossOriginMiddleware: state-changing requests from other sites refused by
  Sec-Fetch-Site, else by Origin (decision 0125).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guestbook_webui.client_address import resolve_client, trusted_networks
from guestbook_webui.problems import CROSS_SITE_FORM, RATE_LIMITED, Problem, problem_response
from guestbook_webui.rate_limit import RateLimiter
from guestbook_webui.settings import WebSettings

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
"""The kubelet's probes are never rate limited: a busy client must not fail them."""


def _joined_headers(scope: Scope) -> dict[str, str]:
    joined: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers") or ():
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


class TrustedProxyMiddleware:
    """Replaces ``scope["client"]`` and ``scope["scheme"]`` with what a trusted proxy
    says about the client; leaves them alone for every other peer."""

    def __init__(self, app: ASGIApp, *, settings: WebSettings) -> None:
        self.app = app
        self.networks = trusted_networks(settings.trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.networks and scope.get("client"):
            peer = scope["client"][0]
            client = resolve_client(peer, scope["scheme"], _joined_headers(scope), self.networks)
            scope["client"] = (client.address, 0)
            scope["scheme"] = client.scheme
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: WebSettings | None = None) -> None:
        self.app = app
        self.hsts = f"max-age={settings.hsts_max_age}" if settings and settings.hsts_max_age else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # RFC 6797 §7.2: HSTS only over a secure transport (TLS here or at a trusted proxy).
        hsts = self.hsts if scope.get("scheme") == "https" else ""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if hsts:
                    headers.setdefault("Strict-Transport-Security", hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimitMiddleware:
    """Two buckets per client address: every request, and signing (POST)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: WebSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.clock = clock
        self.requests = (
            RateLimiter(settings.requests_per_second, max(1, settings.request_burst))
            if settings.requests_per_second
            else None
        )
        self.submissions = (
            RateLimiter(settings.submissions_per_minute / 60.0, max(1, settings.submission_burst))
            if settings.submissions_per_minute
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        now = self.clock()
        wait, what = 0.0, ""
        if self.requests is not None:
            wait, what = self.requests.acquire(client, now), "requests"
        if not wait and self.submissions is not None and scope["method"] not in SAFE_METHODS:
            wait, what = self.submissions.acquire(client, now), "signatures"
        if not wait:
            await self.app(scope, receive, send)
            return
        retry = RateLimiter.retry_after(wait)
        problem = Problem(
            429,
            RATE_LIMITED,
            "Too many requests",
            f"You sent too many {what} in a short time; wait {retry} s and try again.",
        )
        response = problem_response(problem, scope["path"])
        response.headers["Retry-After"] = retry
        await response(scope, receive, send)


class CrossOriginMiddleware:
    """Refuses a state-changing request a browser sent for another site (CSRF).

    Browsers send ``Sec-Fetch-Site``: only ``same-origin`` and ``none`` (typed by
    the user) pass. Older browsers send only ``Origin``: it must be this
    server's (its Host, or the configured public URL's). A request with neither
    header comes from no browser and passes (the rate limit still applies).
    """

    def __init__(self, app: ASGIApp, *, settings: WebSettings) -> None:
        self.app = app
        self.public = urlsplit(settings.public_url).netloc if settings.public_url else ""

    def _allowed(self, headers: Headers) -> bool:
        site = headers.get("sec-fetch-site")
        if site is not None:
            return site.lower() in ("same-origin", "none")
        origin = headers.get("origin")
        if origin is None:
            return True
        netloc = urlsplit(origin).netloc
        return origin != "null" and bool(netloc) and netloc in (headers.get("host"), self.public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if self._allowed(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        problem = Problem(
            403,
            CROSS_SITE_FORM,
            "Cross-site request refused",
            "Sign the guestbook from its own page; requests sent from other sites are refused.",
        )
        await problem_response(problem, scope["path"])(scope, receive, send)
