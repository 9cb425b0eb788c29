"""The logs a witness witnesses: for each origin, the note verifier keys it trusts.

A log is written as one line, in a logs file or as a ``--log`` option::

    <note verifier key>              the origin is the key's name (as for Guestbook Ledgers)
    <origin> <note verifier key>     a log whose key is named otherwise

Blank lines and lines starting with ``#`` are skipped in a file. An origin may
be listed several times with different keys (a log rotating its key): a
checkpoint signed by any of them is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from guestbook_ledger.format.checkpoint import check_origin
from guestbook_ledger.format.errors import CheckpointFormatError, KeyFormatError
from guestbook_ledger.format.note import NoteVerifier

MAX_LOGS_FILE_BYTES = 1024 * 1024


class LogConfigError(ValueError):
    """A log line or logs file is malformed; the message names the line and what is wrong."""


@dataclass(frozen=True)
class LogList:
    """Origin -> the verifiers of the log's checkpoint signatures."""

    verifiers: dict[str, tuple[NoteVerifier, ...]] = field(default_factory=dict)

    def keys_of(self, origin: str) -> tuple[NoteVerifier, ...]:
        """The keys trusted for ``origin``; empty when the origin is unknown."""
        return self.verifiers.get(origin, ())

    def origins(self) -> list[str]:
        return sorted(self.verifiers)


def parse_log_line(line: str, where: str = "--log") -> tuple[str, NoteVerifier]:
    """Read ``[<origin> ]<verifier key>``; raise LogConfigError saying what is wrong."""
    words = line.split()
    if len(words) not in (1, 2):
        raise LogConfigError(
            f"{where}: a log is '<note verifier key>' or '<origin> <note verifier key>'; "
            f"got {line.strip()[:120]!r}"
        )
    try:
        verifier = NoteVerifier.from_text(words[-1])
        origin = words[0] if len(words) == 2 else verifier.name
        check_origin(origin)
    except (KeyFormatError, CheckpointFormatError) as exc:
        raise LogConfigError(f"{where}: {exc}") from None
    return origin, verifier


def read_logs_file(path: Path) -> list[tuple[str, NoteVerifier]]:
    """Every log of the logs file ``path``. Raises LogConfigError for an unreadable,
    oversized or malformed file (naming the line)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_LOGS_FILE_BYTES + 1)
    except OSError as exc:
        raise LogConfigError(f"cannot read the logs file {path}: {exc.strerror}") from None
    if len(data) > MAX_LOGS_FILE_BYTES:
        raise LogConfigError(f"the logs file {path} is larger than {MAX_LOGS_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LogConfigError(f"the logs file {path} is not UTF-8 text") from None
    logs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            logs.append(parse_log_line(line, f"{path} line {number}"))
    return logs


def log_list(entries: Iterable[tuple[str, NoteVerifier]]) -> LogList:
    """Group ``(origin, verifier)`` pairs by origin, dropping repeated keys."""
    grouped: dict[str, list[NoteVerifier]] = {}
    for origin, verifier in entries:
        keys = grouped.setdefault(origin, [])
        if verifier not in keys:
            keys.append(verifier)
    return LogList({origin: tuple(keys) for origin, keys in grouped.items()})
