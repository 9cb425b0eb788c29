"""Container logs as the kubelet serves them: ``/containerLogs/{ns}/{pod}/{container}``.

Each run of a container writes ``logs/<ns>_<pod>_<uid>/<container>/<restart>.log``
(like ``/var/log/pods`` on a node) in the CRI format
(``<time> <stream> <F|P> <text>``, see :mod:`.process`). This module parses
those records and applies the options ``kubectl logs`` sends: ``tailLines``,
``sinceSeconds``/``sinceTime``, ``timestamps``, ``limitBytes`` and ``follow``
(stream as the file grows, end once the container's run has ended).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.1
CHUNK = 64 * 1024


def log_path(
    state_dir: Path, namespace: str, name: str, uid: str, container: str, restart: int
) -> Path:
    """Where the output of one run of a container goes."""
    return state_dir / "logs" / f"{namespace}_{name}_{uid}" / container / f"{restart}.log"


class LogOptionsError(ValueError):
    """A query parameter has a value the kubelet does not accept (400)."""


@dataclass(frozen=True)
class LogOptions:
    """The ``PodLogOptions`` the API server forwards as query parameters."""

    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None
    since: datetime.datetime | None = None

    @classmethod
    def from_query(cls, query: dict[str, str], now: datetime.datetime | None = None) -> LogOptions:
        """Parse the query; raises LogOptionsError for a malformed value."""

        def flag(name: str) -> bool:
            return query.get(name, "false").lower() in ("true", "1")

        def number(name: str) -> int | None:
            if name not in query:
                return None
            try:
                value = int(query[name])
            except ValueError:
                raise LogOptionsError(f"{name}: {query[name]!r} is not an integer") from None
            if value < 0 or (name == "limitBytes" and value == 0):
                raise LogOptionsError(
                    f"{name}: must be greater than {-1 if name == 'tailLines' else 0}"
                )
            return value

        since: datetime.datetime | None = None
        seconds = number("sinceSeconds")
        if seconds is not None:
            since = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(
                seconds=seconds
            )
        elif "sinceTime" in query:
            since = parse_time(query["sinceTime"])
            if since is None:
                raise LogOptionsError(f"sinceTime: {query['sinceTime']!r} is not RFC 3339")
        return cls(
            follow=flag("follow"),
            previous=flag("previous"),
            timestamps=flag("timestamps"),
            tail_lines=number("tailLines"),
            limit_bytes=number("limitBytes"),
            since=since,
        )


def parse_time(text: str) -> datetime.datetime | None:
    """An RFC 3339 time (nanoseconds allowed, truncated to microseconds), or None."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    date, dot, rest = value.partition(".")
    if dot:
        digits = 0
        while digits < len(rest) and rest[digits].isdigit():
            digits += 1
        value = f"{date}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@dataclass(frozen=True)
class LogRecord:
    """One CRI log record: ``text`` has its newline unless the record is partial."""

    stamp: str
    stream: str
    text: bytes

    def render(self, timestamps: bool) -> bytes:
        return (self.stamp.encode() + b" " + self.text) if timestamps else self.text


def parse_record(line: bytes) -> LogRecord | None:
    """Parse one line of a CRI log file (with its newline); None if malformed."""
    parts = line.split(b" ", 3)
    if len(parts) < 4:
        return None
    stamp, stream, tag, text = parts
    if tag == b"P":
        text = text.removesuffix(b"\n")  # a partial record continues in the next one
    return LogRecord(stamp.decode(), stream.decode(), text)


def _select(records: list[LogRecord], options: LogOptions) -> list[LogRecord]:
    if options.since is not None:
        since = options.since
        records = [r for r in records if (parse_time(r.stamp) or since) >= since]
    if options.tail_lines is not None:
        # Count whole lines: a line ends with the record that ends with a newline.
        ends = [i for i, r in enumerate(records) if r.text.endswith(b"\n")]
        if options.tail_lines == 0:
            return []
        if len(ends) > options.tail_lines:
            records = records[ends[-options.tail_lines - 1] + 1 :]
    return records


async def stream_log(
    path: Path, options: LogOptions, is_active: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """Yield the log at ``path`` as ``options`` ask.

    ``is_active()`` tells whether the run that writes ``path`` may still write
    (a follow ends once it is not and everything was sent). Requires the file
    to exist or ``is_active()`` to become false eventually.
    """
    budget = options.limit_bytes if options.limit_bytes is not None else -1
    while not path.exists():
        if not options.follow or not is_active():
            return
        await asyncio.sleep(POLL_SECONDS)
    with open(path, "rb") as log_file:
        data = log_file.read()
        complete = data[: data.rfind(b"\n") + 1]
        rest = data[len(complete) :]
        records = [r for r in map(parse_record, complete.splitlines(keepends=True)) if r]
        chunk = b"".join(r.render(options.timestamps) for r in _select(records, options))
        while True:
            if chunk:
                if budget >= 0:
                    chunk = chunk[:budget]
                    budget -= len(chunk)
                yield chunk
                if budget == 0:
                    return
            if not options.follow:
                return
            active = is_active()
            more = log_file.read(CHUNK)
            if not more and not active:
                return  # the run ended and everything it wrote was sent
            if not more:
                await asyncio.sleep(POLL_SECONDS)
                chunk = b""
                continue
            data = rest + more
            complete = data[: data.rfind(b"\n") + 1]
            rest = data[len(complete) :]
            records = [r for r in map(parse_record, complete.splitlines(keepends=True)) if r]
            if options.since is not None:
                records = _select(records, LogOptions(since=options.since))
            chunk = b"".join(r.render(options.timestamps) for r in records)
