"""The part of the Dockerfile language local mode needs to build an image's environment.

A Dockerfile is read into its stages; each stage keeps what the local build
uses: its WORKDIR, its COPY and RUN instructions, and the image settings
(ENV, USER, ENTRYPOINT, CMD; EXPOSE is accepted, unused). Instructions local mode cannot honour
are refused with the line and what to write instead, never skipped in
silence: ADD, ARG, SHELL, VOLUME, ONBUILD, HEALTHCHECK, STOPSIGNAL, heredocs,
the shell form of ENTRYPOINT and CMD, and ``${VAR:-default}``-style
expansions. ``.dockerignore`` is matched as Docker matches it (``*``, ``?``,
``[...]``, ``**``, ``!`` exceptions, a match on a folder covers its contents).

Pure parsing, no file system writes; :mod:`guestbook_localcluster.images`
builds from the result.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


class DockerfileError(ValueError):
    """A Dockerfile local mode cannot build from; the message names the file, the line
    and what to write instead."""


@dataclass(frozen=True)
class Copy:
    """``COPY [--from=STAGE] SOURCE... DESTINATION``."""

    line: int
    sources: tuple[str, ...]
    destination: str
    from_stage: str | None


@dataclass(frozen=True)
class Run:
    """``RUN``: ``argv`` for the exec form, else the shell form's ``command``."""

    line: int
    command: str
    argv: tuple[str, ...] | None

    def words(self) -> tuple[str, ...] | None:
        """The command as words: the exec form's, or the shell form's when it is one plain
        command (no operators, redirections, expansions or substitutions); else None."""
        if self.argv is not None:
            return self.argv
        if re.search(r"[;&|<>`$(){}\n]", self.command):
            return None
        return tuple(shlex.split(self.command))


@dataclass
class Stage:
    """One ``FROM`` and the instructions up to the next."""

    index: int
    base: str
    name: str | None
    line: int
    workdir: str = "/"
    copies: list[Copy] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    env_before_run: dict[int, dict[str, str]] = field(default_factory=dict)  # RUN line -> ENV
    user: str | None = None
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    def refers_to(self, reference: str) -> bool:
        """Whether ``--from=reference`` names this stage (by name or index)."""
        return reference == self.name or reference == str(self.index)


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    stages: tuple[Stage, ...]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


_SUPPORTED = {"FROM", "WORKDIR", "COPY", "RUN", "ENV", "USER", "ENTRYPOINT", "CMD", "EXPOSE"}
_IGNORED = {"LABEL", "MAINTAINER"}  # metadata only
_INSTEAD = {
    "ADD": "use COPY (local mode does not fetch URLs or unpack archives)",
    "ARG": "spell the value out (local mode has no build arguments)",
    "SHELL": "keep the default shell",
    "VOLUME": "declare volumes in the pod spec",
    "ONBUILD": "put the instruction into the Dockerfile that needs it",
    "HEALTHCHECK": "declare probes in the pod spec",
    "STOPSIGNAL": "handle SIGTERM, which the kubelet sends",
}


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction text) with comments dropped and continuations joined."""
    lines = text.splitlines()
    result: list[tuple[int, str]] = []
    parts: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            # Parser directives are comments too; only the default escape is understood.
            directive = re.match(r"#\s*escape\s*=\s*(\S)", stripped)
            if directive and directive.group(1) != "\\":
                raise DockerfileError(f"line {number}: only the default escape character \\ works")
            continue
        if not parts and not stripped:
            continue
        if not parts:
            start = number
        if raw.rstrip().endswith("\\"):
            parts.append(raw.rstrip()[:-1])
            continue
        parts.append(raw)
        result.append((start, " ".join(p.strip() for p in parts if p.strip())))
        parts = []
    if parts:
        result.append((start, " ".join(p.strip() for p in parts if p.strip())))
    return result


def _json_array(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _flags(words: list[str]) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    return flags, words


_REFERENCE = re.compile(r"\\\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(value: str, known: dict[str, str], line: int) -> str:
    """``$VAR`` and ``${VAR}`` from the stage's earlier ENV; refuses anything else."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "\\$":
            return "$"
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise DockerfileError(
                f"line {line}: ${{{name}}} is not supported locally; spell the value out"
            )
        if name not in known:
            raise DockerfileError(
                f"line {line}: ${name} is not set earlier in this stage (the base image's "
                "variables are unknown locally); spell the value out"
            )
        return known[name]

    return _REFERENCE.sub(replace, value)


def _env_pairs(arguments: str, known: dict[str, str], line: int) -> dict[str, str]:
    words = shlex.split(arguments, posix=True)
    if words and "=" not in words[0]:
        # The legacy form: ENV KEY VALUE...
        key, _, rest = arguments.strip().partition(" ")
        return {key: _expand(rest.strip(), known, line)}
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise DockerfileError(f"line {line}: ENV {word!r} is not KEY=VALUE")
        pairs[key] = _expand(value, {**known, **pairs}, line)
    return pairs


def parse_dockerfile(path: Path) -> Dockerfile:
    """The stages of the Dockerfile at ``path``.

    Raises DockerfileError (the message starts with the file's name) for an
    instruction or form local mode does not support, and OSError when the file
    cannot be read.
    """
    try:
        return _parse(path.read_text(encoding="utf-8"), path)
    except DockerfileError as exc:
        raise DockerfileError(f"{path.name} {exc}") from None


def _parse(text: str, path: Path) -> Dockerfile:
    stages: list[Stage] = []
    for line, instruction in _logical_lines(text):
        keyword, _, arguments = instruction.partition(" ")
        keyword = keyword.upper()
        arguments = arguments.strip()
        if keyword in _INSTEAD:
            raise DockerfileError(
                f"line {line}: {keyword} is not supported by local mode; {_INSTEAD[keyword]}"
            )
        if keyword in _IGNORED:
            continue
        if keyword not in _SUPPORTED:
            raise DockerfileError(f"line {line}: unknown instruction {keyword}")
        if re.search(r"<<-?\s*['\"]?[A-Za-z_]", arguments) and keyword in ("RUN", "COPY"):
            raise DockerfileError(f"line {line}: heredocs are not supported locally")
        if keyword == "FROM":
            _, words = _flags(arguments.split())
            named = len(words) == 3 and words[1].upper() == "AS"
            if len(words) != 1 and not named:
                raise DockerfileError(f"line {line}: FROM IMAGE [AS NAME] expected")
            stages.append(Stage(len(stages), words[0], words[2] if len(words) == 3 else None, line))
            continue
        if not stages:
            raise DockerfileError(f"line {line}: {keyword} before the first FROM")
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = str(PurePosixPath(stage.workdir) / _expand(arguments, stage.env, line))
        elif keyword == "COPY":
            array = _json_array(arguments)
            flags, words = _flags(array if array is not None else shlex.split(arguments))
            if len(words) < 2:
                raise DockerfileError(f"line {line}: COPY SOURCE... DESTINATION expected")
            stage.copies.append(Copy(line, tuple(words[:-1]), words[-1], flags.get("from")))
        elif keyword == "RUN":
            array = _json_array(arguments)
            run = Run(line, arguments, tuple(array) if array is not None else None)
            stage.runs.append(run)
            stage.env_before_run[line] = dict(stage.env)
        elif keyword == "ENV":
            stage.env.update(_env_pairs(arguments, stage.env, line))
        elif keyword == "USER":
            stage.user = _expand(arguments, stage.env, line)
        elif keyword == "EXPOSE":
            pass  # a pod's process listens on the host: there is nothing to expose
        else:  # ENTRYPOINT, CMD
            array = _json_array(arguments)
            if array is None:
                raise DockerfileError(
                    f"line {line}: {keyword} in shell form is not supported locally; write it "
                    f'as a JSON array, e.g. {keyword} ["guestbook-ledger"]'
                )
            # Only this stage's values: an ENTRYPOINT drops the base image's CMD in
            # Docker, and the base image's are unknown locally anyway.
            if keyword == "ENTRYPOINT":
                stage.entrypoint = array
            else:
                stage.cmd = array
    if not stages:
        raise DockerfileError("has no FROM")
    return Dockerfile(path, tuple(stages))


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    exception: bool


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!") or body.startswith("^"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


class ContextIgnore:
    """The ``.dockerignore`` of a build context: which context paths no COPY sees."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[_Pattern] = []
        for raw in patterns:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            exception = text.startswith("!")
            text = text.removeprefix("!").strip()
            cleaned = str(PurePosixPath("/" + text)).lstrip("/") or "."
            self.patterns.append(_Pattern(_pattern_regex(cleaned), exception))

    @classmethod
    def of_context(cls, context: Path) -> ContextIgnore:
        """The context's ``.dockerignore``, or nothing ignored when there is none."""
        path = context / ".dockerignore"
        if not path.is_file():
            return cls([])
        return cls(path.read_text(encoding="utf-8").splitlines())

    def ignores(self, relative: str) -> bool:
        """Whether the context path ``relative`` (``/``-separated) is left out."""
        parts = relative.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        ignored = False
        for pattern in self.patterns:
            if any(pattern.regex.match(p) for p in prefixes):
                ignored = not pattern.exception
        return ignored
