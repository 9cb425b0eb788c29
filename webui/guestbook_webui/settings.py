"""What the web UI serves: which cluster, namespace and ledger, and which database.

Settings come from the command line (`guestbook-ledger webui ...`) or from the
environment (`GUESTBOOK_*`, `KUBECONFIG`), command line first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from guestbook_ledger.format.names import is_namespace, is_object_name


class SettingsError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class WebSettings:
    """``kubeconfig`` None means in-cluster, else ``$KUBECONFIG``/``~/.kube/config``;
    ``dsn`` None means proofs and tree heads are not served (503 problems)."""

    namespace: str = "default"
    ledger: str = "guestbook"
    kubeconfig: str | None = None
    dsn: str | None = None
    page_size: int = 100

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

    @property
    def ledger_name(self) -> str:
        """The ledger as the database names it: ``<namespace>/<name>``."""
        return f"{self.namespace}/{self.ledger}"


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> WebSettings:
    """Settings from ``GUESTBOOK_NAMESPACE``, ``GUESTBOOK_LEDGER``, ``GUESTBOOK_DSN`` and
    ``KUBECONFIG``; keyword ``overrides`` that are not None win (the CLI's flags).

    Raises SettingsError for a malformed value.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {
        "namespace": env.get("GUESTBOOK_NAMESPACE") or "default",
        "ledger": env.get("GUESTBOOK_LEDGER") or "guestbook",
        "kubeconfig": env.get("KUBECONFIG") or None,
        "dsn": env.get("GUESTBOOK_DSN") or None,
    }
    values.update({key: value for key, value in overrides.items() if value is not None})
    return WebSettings(**values)  # type: ignore[arg-type]
