"""The pure rules behind the web UI's limits: token buckets, who the client is
behind proxies, JSON nesting, invisible text."""

from __future__ import annotations

import pytest
from guestbook_webui.client_address import resolve_client, trusted_networks
from guestbook_webui.json_depth import nests_deeper_than
from guestbook_webui.rate_limit import RateLimiter
from guestbook_webui.settings import SettingsError, WebSettings, settings_from_env
from guestbook_webui.submission import InvalidSubmission, is_invisible, parse_submission


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    limiter = RateLimiter(rate=2.0, burst=3)
    assert [limiter.acquire("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a", 0.0) == pytest.approx(0.5)
    assert limiter.acquire("b", 0.0) == 0.0  # another client has its own bucket
    assert limiter.acquire("a", 0.5) == 0.0  # one token back after 1/rate s
    assert RateLimiter.retry_after(0.2) == "1" and RateLimiter.retry_after(2.1) == "3"


def test_the_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.acquire(client, 0.0)
    assert len(limiter._buckets) == 2


TRUSTED = trusted_networks(["10.0.0.0/8", "127.0.0.1"])


@pytest.mark.parametrize(
    ("peer", "headers", "address", "scheme"),
    [
        ("192.0.2.1", {"x-forwarded-for": "203.0.113.5"}, "192.0.2.1", "http"),  # untrusted
        ("10.1.2.3", {"x-forwarded-for": "203.0.113.5"}, "203.0.113.5", "http"),
        ("10.1.2.3", {"x-forwarded-for": "1.1.1.1, 203.0.113.5, 10.9.9.9"}, "203.0.113.5", "http"),
        ("10.1.2.3", {"x-forwarded-for": "garbage, 10.9.9.9"}, "10.9.9.9", "http"),
        (
            "10.1.2.3",
            {"x-forwarded-for": "203.0.113.5", "x-forwarded-proto": "https"},
            "203.0.113.5",
            "https",
        ),
        ("10.1.2.3", {"forwarded": 'for="[2001:db8::1]:80";proto=https'}, "2001:db8::1", "https"),
        ("10.1.2.3", {"forwarded": "for=198.51.100.1:99, for=10.0.0.2"}, "198.51.100.1", "http"),
        (
            "10.1.2.3",
            {"forwarded": "for=unknown", "x-forwarded-for": "9.9.9.9"},
            "10.1.2.3",
            "http",
        ),
        ("10.1.2.3", {}, "10.1.2.3", "http"),
    ],
)
def test_the_client_is_the_rightmost_untrusted_hop(
    peer: str, headers: dict[str, str], address: str, scheme: str
) -> None:
    client = resolve_client(peer, "http", headers, TRUSTED)
    assert (client.address, client.scheme) == (address, scheme)


def test_nesting_is_measured_outside_strings() -> None:
    assert nests_deeper_than(b"[" * 17 + b"]" * 17)
    assert not nests_deeper_than(b"[" * 16 + b"]" * 16)
    assert not nests_deeper_than(b'{"message": "' + b"[{" * 100 + b'"}')
    assert not nests_deeper_than(b'{"message": "a\\"[[[[[[[[[[[[[[[[[[[["}')


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200e\u200f", "\u2800", "\u3164", "\ufe0f", "\u00a0\u2003", "\u202e", "\x7f"],
)
def test_invisible_text(text: str) -> None:
    assert is_invisible(text)
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission({"message": text})
    assert "invisible" in caught.value.errors[0].detail or "Write a message" in (
        caught.value.errors[0].detail
    )


@pytest.mark.parametrize(
    "text", ["a", "\u200ba", "\u05e9\u05dc\u05d5\u05dd", "\U0001f600", "e\u0301"]
)
def test_visible_text_passes(text: str) -> None:
    assert not is_invisible(text)
    assert parse_submission({"author": text, "message": text}).message


def test_limit_settings_come_from_the_environment_and_are_checked() -> None:
    settings = settings_from_env(
        {
            "GUESTBOOK_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "GUESTBOOK_SUBMISSIONS_PER_MINUTE": "5",
            "GUESTBOOK_HEADER_TIMEOUT": "2.5",
            "GUESTBOOK_PUBLIC_URL": "https://gb.example/",
        }
    )
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")
    assert settings.submissions_per_minute == 5 and settings.header_timeout == 2.5
    assert settings.public_base == "https://gb.example/"
    with pytest.raises(SettingsError, match="trusted proxy"):
        WebSettings(trusted_proxies=("not-an-ip",))
    with pytest.raises(SettingsError, match="not a number"):
        settings_from_env({"GUESTBOOK_REQUEST_BURST": "many"})
    with pytest.raises(SettingsError, match="public URL"):
        WebSettings(public_url="guestbook.example")
    with pytest.raises(SettingsError, match="feed_window"):
        WebSettings(page_size=100, feed_window=10)
