"""Settings of the operator and of its worker and audit pods: every environment
variable they read is read here (the Helm chart, the Job manifests and `dev`
set them), and each part is given what it needs."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """An environment variable holds a value the operator cannot use."""


# Worker and audit pods, by default: what Pod Security `restricted` demands (the
# images run as uid 10001, their virtualenv is written at build time only), and
# resources that fit one worker process. The chart's values.yaml `worker.*`
# holds the same defaults and always passes its values (decision 0094).
DEFAULT_WORKER_POD_SECURITY_CONTEXT: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
DEFAULT_WORKER_SECURITY_CONTEXT: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
DEFAULT_WORKER_RESOURCES: Mapping[str, Any] = {
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "limits": {"cpu": "1", "memory": "256Mi"},
}


@dataclass(frozen=True)
class TimerIntervals:
    """Seconds between the per-Ledger timers' runs (Kopf fixes a timer's interval
    when its handler is registered, so ``handlers/repair.py`` and
    ``handlers/witnesses.py`` read these when they are imported)."""

    repair_seconds: float = 15.0
    witness_retry_seconds: float = 10.0


@dataclass(frozen=True)
class OperatorConfig:
    """Everything the operator needs that is not in a Ledger's spec.

    ``dsn`` is the operator's own database connection, never given to pods.
    Worker and audit pods get theirs from a Secret in the Ledger's namespace
    (decision 0130): the one the Ledger's ``spec.databaseSecret`` names, else
    ``worker_database_secret`` (a Secret of that name the user made in each
    namespace), else ``<ledger>-database``, which the operator writes from
    ``worker_dsn`` (a worker role's URI given to it for that purpose). With
    none of them a Ledger is not Ready and says so.
    """

    dsn: str
    worker_dsn: str = ""
    worker_database_secret: str = ""
    worker_image: str = "guestbook-ledger-operator:latest"
    worker_command: tuple[str, ...] = ("guestbook-ledger",)
    service_account: str = ""
    job_backoff_limit: int = 6
    job_ttl_seconds: int = 300
    reconcile_interval_seconds: float = 1.0
    timers: TimerIntervals = field(default_factory=TimerIntervals)
    metrics_port: int = 0
    metrics_address: str = "127.0.0.1"
    # Readiness endpoint (GET /readyz: the database answers); 0: off (decision 0133).
    readiness_port: int = 0
    readiness_address: str = "127.0.0.1"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    worker_pod_security_context: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_WORKER_POD_SECURITY_CONTEXT)
    )
    worker_security_context: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_WORKER_SECURITY_CONTEXT)
    )
    worker_resources: Mapping[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_WORKER_RESOURCES)
    )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}.") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0 seconds, got {raw!r}.")
    return value


def _json_object(
    env: Mapping[str, str],
    name: str,
    default: Mapping[str, Any],
    keys: frozenset[str] | None = None,
) -> dict[str, Any]:
    """A JSON object from ``name`` (unset or empty: ``default``; ``{}``: none at all)."""
    raw = env.get(name, "")
    if raw == "":
        copied: dict[str, Any] = json.loads(json.dumps(default))  # a deep copy
        return copied
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} must be a JSON object, got {raw!r} ({exc}).") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object, got {raw!r}.")
    unknown = sorted(set(value) - keys) if keys is not None else []
    if unknown:
        raise ConfigError(
            f"{name} has unknown keys {', '.join(unknown)}; use {', '.join(sorted(keys or ()))}."
        )
    return value


def load_config(env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Settings from ``env`` (default: the process environment).

    ``GUESTBOOK_DSN`` is required. Raises ConfigError naming the variable when
    a value is missing or malformed.
    """
    env = os.environ if env is None else env
    dsn = env.get("GUESTBOOK_DSN", "")
    if not dsn:
        raise ConfigError(
            "GUESTBOOK_DSN is not set; set it to the ledger database's connection URI "
            "(postgresql://user@host:port/db)."
        )
    command = tuple(shlex.split(env.get("GUESTBOOK_WORKER_COMMAND", "guestbook-ledger")))
    if not command:
        raise ConfigError("GUESTBOOK_WORKER_COMMAND is empty; set it to the guestbook-ledger path.")
    # Passed to worker pods verbatim: local mode uses it for PATH-like settings.
    extra_env = {
        key.removeprefix("GUESTBOOK_WORKER_ENV_"): value
        for key, value in env.items()
        if key.startswith("GUESTBOOK_WORKER_ENV_")
    }
    return OperatorConfig(
        dsn=dsn,
        # No fallback to GUESTBOOK_DSN: the operator's own credentials stay its own.
        worker_dsn=env.get("GUESTBOOK_WORKER_DSN", ""),
        worker_database_secret=env.get("GUESTBOOK_WORKER_DATABASE_SECRET", ""),
        worker_image=env.get("GUESTBOOK_WORKER_IMAGE", "") or "guestbook-ledger-operator:latest",
        worker_command=command,
        service_account=env.get("GUESTBOOK_WORKER_SERVICE_ACCOUNT", ""),
        job_backoff_limit=_int(env, "GUESTBOOK_JOB_BACKOFF_LIMIT", 6),
        job_ttl_seconds=_int(env, "GUESTBOOK_JOB_TTL_SECONDS", 300),
        reconcile_interval_seconds=_float(env, "GUESTBOOK_RECONCILE_INTERVAL", 1.0),
        timers=load_timer_intervals(env),
        metrics_port=_int(env, "GUESTBOOK_METRICS_PORT", 0),
        metrics_address=env.get("GUESTBOOK_METRICS_ADDRESS", "") or "127.0.0.1",
        readiness_port=_int(env, "GUESTBOOK_READINESS_PORT", 0),
        readiness_address=env.get("GUESTBOOK_READINESS_ADDRESS", "") or "127.0.0.1",
        extra_env=extra_env,
        worker_pod_security_context=_json_object(
            env, "GUESTBOOK_WORKER_POD_SECURITY_CONTEXT", DEFAULT_WORKER_POD_SECURITY_CONTEXT
        ),
        worker_security_context=_json_object(
            env, "GUESTBOOK_WORKER_SECURITY_CONTEXT", DEFAULT_WORKER_SECURITY_CONTEXT
        ),
        worker_resources=_json_object(
            env,
            "GUESTBOOK_WORKER_RESOURCES",
            DEFAULT_WORKER_RESOURCES,
            frozenset({"requests", "limits", "claims"}),
        ),
    )


def load_timer_intervals(env: Mapping[str, str] | None = None) -> TimerIntervals:
    """The timers' intervals from ``env`` (default: the process environment).

    Raises ConfigError naming the variable when one is not a positive number.
    """
    env = os.environ if env is None else env
    return TimerIntervals(
        repair_seconds=_float(env, "GUESTBOOK_REPAIR_INTERVAL", 15.0),
        witness_retry_seconds=_float(env, "GUESTBOOK_WITNESS_RETRY_INTERVAL", 10.0),
    )


@dataclass(frozen=True)
class PodConfig:
    """What a worker or audit pod reads from its environment (``manifests.py``
    sets it): the ledger database (a worker role's URI), the worker's signing
    key (PEM), and an audit pod's own Job name (shown in the Ledger's status)."""

    dsn: str
    signing_key_pem: str = ""
    job_name: str = ""


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{name} is not set; set it to {what}.")
    return value


def load_pod_config(*, signing_key: bool, env: Mapping[str, str] | None = None) -> PodConfig:
    """A worker's (``signing_key``) or an audit pod's settings from ``env``
    (default: the process environment). Raises ConfigError naming what is missing."""
    env = os.environ if env is None else env
    dsn = _required(env, "GUESTBOOK_DSN", "the ledger database's connection URI")
    if signing_key:
        key = _required(env, "GUESTBOOK_SIGNING_KEY", "the ledger's Ed25519 signing key (PEM)")
        return PodConfig(dsn=dsn, signing_key_pem=key)
    return PodConfig(dsn=dsn, job_name=env.get("GUESTBOOK_JOB_NAME", ""))
