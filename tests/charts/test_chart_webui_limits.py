"""The chart's ``webui.limits`` reach the web UI as the variables it reads."""

from __future__ import annotations

import helm_python as helm
import pytest
from chart_manifests import FULL, MINIMAL, container, env_of, render
from guestbook_webui.settings import LIMIT_ENV, WebSettings, settings_from_env

LIMITS = {
    "publicUrl": "https://guestbook.example.com/",
    "hstsMaxAge": 31536000,
    "trustedProxies": ["10.0.0.0/8", "192.168.1.1"],
    "submissionsPerMinute": 12,
    "submissionBurst": 4,
    "requestsPerSecond": 0,
    "requestBurst": 50,
    "maxEventStreams": 100,
    "feedWindow": 2000,
    "headerTimeout": 5,
    "bodyTimeout": 7.5,
    "keepAliveTimeout": 3,
}


def web_env(values: dict[str, object]) -> dict[str, str]:
    deployment = render(values).one("Deployment", f"{FULL}-webui")
    return {k: v for k, v in env_of(container(deployment)).items() if isinstance(v, str)}


def test_limits_set_in_values_become_the_web_uis_settings() -> None:
    env = web_env({**MINIMAL, "webui": {"limits": LIMITS}})
    assert set(LIMIT_ENV.values()) <= set(env)
    settings = settings_from_env(env)
    assert settings.public_url == "https://guestbook.example.com/"
    assert settings.hsts_max_age == 31536000
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert (settings.submissions_per_minute, settings.submission_burst) == (12, 4)
    assert (settings.requests_per_second, settings.request_burst) == (0, 50)
    assert (settings.max_event_streams, settings.feed_window) == (100, 2000)
    assert (settings.header_timeout, settings.body_timeout) == (5.0, 7.5)
    assert settings.keep_alive_timeout == 3


def test_unset_limits_keep_the_web_uis_defaults() -> None:
    env = web_env(MINIMAL)
    assert not set(LIMIT_ENV.values()) & set(env)
    assert settings_from_env(env).feed_window == WebSettings().feed_window


def test_malformed_limits_are_refused_by_the_schema() -> None:
    with pytest.raises(helm.HelmError, match=r"feedWindow|limits"):
        render({**MINIMAL, "webui": {"limits": {"feedWindow": 0}}})
    with pytest.raises(helm.HelmError, match=r"unknown|additional|limits"):
        render({**MINIMAL, "webui": {"limits": {"rateLimit": 5}}})
