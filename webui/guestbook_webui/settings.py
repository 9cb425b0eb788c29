"""What the web UI serves: which cluster, namespace and ledger, and which database.

Settings come from the command line (`guestbook-ledger webui ...`) or from the
environment (`GUESTBOOK_*`, `KUBECONFIG`), command line first.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from guestbook_kube.resources import DEFAULT_LEDGER
from guestbook_ledger.format.names import is_namespace, is_object_name


class SettingsError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class WebSettings:
    """``kubeconfig`` None means in-cluster, else ``$KUBECONFIG``/``~/.kube/config``;
    ``dsn`` None means proofs and tree heads are not served (503 problems)."""

    namespace: str = "default"
    ledger: str = DEFAULT_LEDGER
    kubeconfig: str | None = None
    dsn: str | None = None
    page_size: int = 100
    # -- limits (decisions 0120-0129; webui/README.md "Limits") ------------------
    public_url: str | None = None
    """The page's public address (``https://guestbook.example.com/``), used in the
    commands /how-to-verify shows and as an allowed Origin; None: relative URLs."""
    hsts_max_age: int = 0
    """Strict-Transport-Security max-age sent on responses served over TLS; 0: none."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDR networks of reverse proxies whose X-Forwarded-For /
    Forwarded headers name the client; from anyone else they are ignored."""
    submissions_per_minute: int = 30
    submission_burst: int = 10
    requests_per_second: int = 50
    request_burst: int = 200
    """Per-client token buckets: signing (POST) and every request; 0 turns one off."""
    max_event_streams: int = 500
    feed_window: int = 1000
    """Newest entries the live feed keeps in memory (the page, /events, /api/entries)."""
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive_timeout: int = 5

    def __post_init__(self) -> None:
        if not is_namespace(self.namespace):
            raise SettingsError(
                f"The namespace {self.namespace!r} is not a Kubernetes namespace name "
                "(lowercase letters, digits and '-'); pass a valid --namespace."
            )
        if not is_object_name(self.ledger):
            raise SettingsError(
                f"The ledger {self.ledger!r} is not a Kubernetes object name "
                "(lowercase letters, digits, '-' and '.'); pass a valid --ledger."
            )
        if not 1 <= self.page_size <= 1000:
            raise SettingsError(f"page_size must be between 1 and 1000; got {self.page_size}")
        if not self.page_size <= self.feed_window <= 100_000:
            raise SettingsError(
                f"feed_window must be between page_size ({self.page_size}) and 100000; "
                f"got {self.feed_window}"
            )
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(
                    f"The public URL {self.public_url!r} is not an http(s) URL; pass one such "
                    "as https://guestbook.example.com/ (--public-url)."
                )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"The trusted proxy {proxy!r} is not an IP address or CIDR network "
                    "(e.g. 10.0.0.0/8); fix --trusted-proxies."
                ) from None
        for name in (
            "hsts_max_age",
            "submissions_per_minute",
            "submission_burst",
            "requests_per_second",
            "request_burst",
            "max_event_streams",
        ):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 or more; got {getattr(self, name)}")
        for name in ("header_timeout", "body_timeout", "keep_alive_timeout"):
            if not 0 < getattr(self, name) <= 3600:
                raise SettingsError(
                    f"{name} must be more than 0 and at most 3600 seconds; "
                    f"got {getattr(self, name)}"
                )

    @property
    def public_base(self) -> str:
        """The public URL ending in "/", or "/" (relative) when none is configured."""
        if self.public_url is None:
            return "/"
        return self.public_url.rstrip("/") + "/"

    @property
    def ledger_name(self) -> str:
        """The ledger as the database names it: ``<namespace>/<name>``."""
        return f"{self.namespace}/{self.ledger}"


LIMIT_ENV = {
    "public_url": "GUESTBOOK_PUBLIC_URL",
    "hsts_max_age": "GUESTBOOK_HSTS_MAX_AGE",
    "trusted_proxies": "GUESTBOOK_TRUSTED_PROXIES",
    "submissions_per_minute": "GUESTBOOK_SUBMISSIONS_PER_MINUTE",
    "submission_burst": "GUESTBOOK_SUBMISSION_BURST",
    "requests_per_second": "GUESTBOOK_REQUESTS_PER_SECOND",
    "request_burst": "GUESTBOOK_REQUEST_BURST",
    "max_event_streams": "GUESTBOOK_MAX_EVENT_STREAMS",
    "feed_window": "GUESTBOOK_FEED_WINDOW",
    "header_timeout": "GUESTBOOK_HEADER_TIMEOUT",
    "body_timeout": "GUESTBOOK_BODY_TIMEOUT",
    "keep_alive_timeout": "GUESTBOOK_KEEP_ALIVE_TIMEOUT",
}
"""The environment variable of each limit (the chart sets them from its values)."""


def _typed(name: str, raw: str) -> object:
    """``raw`` (from the environment) as the type of setting ``name``."""
    kind = {field.name: field.type for field in fields(WebSettings)}[name]
    try:
        if name == "trusted_proxies":
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(
            f"{LIMIT_ENV[name]}={raw!r} is not a number; set it to one or unset it."
        ) from None
    return raw


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> WebSettings:
    """Settings from ``GUESTBOOK_NAMESPACE``, ``GUESTBOOK_LEDGER``, ``GUESTBOOK_DSN``,
    ``KUBECONFIG`` and the limits' variables (LIMIT_ENV); keyword ``overrides``
    that are not None win (the CLI's flags).

    Raises SettingsError for a malformed value.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "namespace": env.get("GUESTBOOK_NAMESPACE") or "default",
        "ledger": env.get("GUESTBOOK_LEDGER") or DEFAULT_LEDGER,
        "kubeconfig": env.get("KUBECONFIG") or None,
        "dsn": env.get("GUESTBOOK_DSN") or None,
    }
    for name, variable in LIMIT_ENV.items():
        if env.get(variable):
            values[name] = _typed(name, env[variable])
    values.update({key: value for key, value in overrides.items() if value is not None})
    return WebSettings(**values)  # type: ignore[arg-type]
