"""Images as local environments: what a pod of an image runs in on the process kubelet.

No container engine runs here, so an image reference maps to a virtualenv
built *exactly as the image is*: the Dockerfile's build stage runs
``scripts/install-image EXTRA PREFIX`` on the files it COPYs, and this module
runs that same RUN line, with the same extra, on the same files (honouring
``.dockerignore``), only with a folder in the cache as PREFIX. A dependency
missing from an image is therefore missing here too. ENTRYPOINT, CMD, ENV and
USER come from the Dockerfile's final stage (decision 0091).

Matching (decision 0091): a reference's repository is looked up in the
catalog by its full name (``registry.example/team/app``), then without the
registry (``team/app``), then by its last component (``app``), so
``registry.example/guestbook-ledger-operator:0.1.0`` — what the chart's
README pushes — runs locally too. Any tag or digest maps to the environment
built from the current checkout: there is no registry to hold older builds.

Environments are cached under ``upstream.cache_root() / "images"``, one
folder per repository and content hash (the Dockerfile, the
``.dockerignore``, every file the build stage COPYs — the install script
among them — and the interpreter), so a code change builds a new one and an
unchanged checkout reuses it. A file lock per environment makes concurrent
builds by several processes wait for one; a lock per repository does the same
for threads.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from guestbook_localcluster import upstream
from guestbook_localcluster.dockerfile import (
    ContextIgnore,
    Dockerfile,
    DockerfileError,
    Run,
    Stage,
    parse_dockerfile,
)
from guestbook_localcluster.file_lock import file_lock
from guestbook_localcluster.image_reference import InvalidReference, parse_image_reference

INSTALL_SCRIPT = "scripts/install-image"
"""The one install step: every Dockerfile's build stage runs it, and so does this module."""

# Bumped when the way an environment is built changes, so old builds are not reused.
_BUILD_FORMAT = 1
# An environment unused this long is removed when its repository gets a new one: each
# is a few hundred MB and every code change makes one, but several checkouts on one
# machine share the cache, each using its own (every use refreshes the marker's time).
PRUNE_UNUSED_SECONDS = 24 * 3600
_MARKER = ".guestbook-image.json"
_USER_SETUP = ("useradd", "groupadd", "adduser", "addgroup")
_PYTHON = re.compile(r"python(?:3(?:\.\d+)?)?\Z")


class ImageNotAvailable(Exception):
    """The image has no local environment; ``str(exc)`` is one sentence saying what to do.

    ``reason`` is what the pod's waiting state says, as a kubelet would:
    ``InvalidImageName`` for a malformed reference, else ``ErrImagePull``.
    """

    def __init__(self, message: str, reason: str = "ErrImagePull") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImageEnvironment:
    """Where and how a container of ``image`` runs locally."""

    image: str  # the reference as given
    root: Path  # the virtualenv (the image's install prefix, e.g. /opt/guestbook)
    bin_dir: Path  # put first on PATH in the pod
    entrypoint: list[str]  # the Dockerfile's ENTRYPOINT (exec form), [] if none
    cmd: list[str]  # the Dockerfile's CMD
    env: dict[str, str]  # ENV lines of the final stage, the install prefix replaced by root
    user: str | None  # USER of the final stage
    repository: str = ""  # the catalog entry it was built for
    dockerfile: Path | None = None


@dataclass(frozen=True)
class _Plan:
    """How to build one repository's environment, and its content hash."""

    repository: str
    dockerfile: Dockerfile
    context: Path
    build_stage: Stage
    run: Run
    argv: tuple[str, ...]  # the RUN line's words
    script_index: int  # where INSTALL_SCRIPT is in argv
    prefix: str  # the install prefix in the image
    files: tuple[tuple[str, Path], ...]  # (path under WORKDIR, context file), sorted
    interpreter: str
    key: str

    @property
    def final(self) -> Stage:
        return self.dockerfile.final

    @property
    def folder_name(self) -> str:
        return f"{self.repository.replace('/', '_')}-{self.key[:16]}"


def _default_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class ImageCatalog:
    """Repository name -> Dockerfile; builds and caches each image's local environment.

    ``dockerfiles`` maps a repository name (``guestbook-ledger-operator``, or a
    path such as ``team/app``) to its Dockerfile; the Dockerfile's folder is
    the build context. ``cache`` defaults to ``upstream.cache_root() / "images"``.
    ``progress`` receives the lines of builds that :meth:`environment_for`
    starts (default: standard error).
    """

    def __init__(
        self,
        dockerfiles: Mapping[str, Path],
        cache: Path | None = None,
        *,
        progress: Callable[[str], None] | None = None,
        unavailable: str | None = None,
    ) -> None:
        for name in dockerfiles:
            try:
                parsed = parse_image_reference(name)
            except InvalidReference as exc:
                raise ValueError(f"catalog name {name!r}: {exc}") from None
            if parsed.tag or parsed.digest:
                raise ValueError(f"catalog name {name!r}: name a repository, without tag or digest")
        self.dockerfiles = {name: Path(path) for name, path in dockerfiles.items()}
        self.cache = cache if cache is not None else upstream.cache_root() / "images"
        self._progress = progress or _default_progress
        self._unavailable = unavailable
        self._lock = threading.Lock()
        self._repository_locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, ImageNotAvailable] = {}  # content key -> the build's failure

    @classmethod
    def project(cls, cache: Path | None = None) -> ImageCatalog:
        """The project's images under the chart's default repositories
        (charts/guestbook-ledger/values.yaml): ``guestbook-ledger-operator`` from
        Dockerfile.operator and ``guestbook-ledger-web`` from Dockerfile.web.

        Outside a checkout of the repository every lookup raises ImageNotAvailable.
        """
        here = Path(__file__).resolve()
        checkout = here.parents[2]
        unavailable = None
        if not (checkout / "pyproject.toml").is_file() or not (checkout / INSTALL_SCRIPT).is_file():
            unavailable = (
                f"Local mode builds images from a checkout of the Guestbook Ledger repository, "
                f"but it runs from an installed copy ({here.parent}): run it from a clone of "
                "the repository (pip install -e . there)."
            )
        return cls(
            {
                "guestbook-ledger-operator": checkout / "Dockerfile.operator",
                "guestbook-ledger-web": checkout / "Dockerfile.web",
            },
            cache,
            unavailable=unavailable,
        )

    # -- lookup ----------------------------------------------------------------

    def repository_for(self, image: str) -> str:
        """The catalog entry ``image`` maps to (see the module docstring for the order).

        Raises ImageNotAvailable for a malformed reference or an unknown repository.
        """
        try:
            reference = parse_image_reference(image)
        except InvalidReference as exc:
            raise ImageNotAvailable(
                f"Image reference {image!r} is not valid ({exc}); fix the pod's image.",
                reason="InvalidImageName",
            ) from None
        for candidate in (reference.repository, reference.path, reference.name):
            if candidate in self.dockerfiles:
                return candidate
        known = ", ".join(
            f"{name} (from {path.name})" for name, path in sorted(self.dockerfiles.items())
        )
        raise ImageNotAvailable(
            f"Image {image!r} has no local environment: the process kubelet runs only images "
            f"built from this repository's Dockerfiles, {known}; use one of those repositories "
            "(any registry and tag)."
        )

    def environment_for(self, image: str) -> ImageEnvironment:
        """The local environment of ``image``, built first if the cache has none for the
        current content. Blocks while building; safe to call from several threads and
        processes at once (one builds, the others wait).

        Raises ImageNotAvailable for a malformed reference, an unknown repository, a
        Dockerfile local mode cannot build from, or a failed build.
        """
        repository = self.repository_for(image)
        return self._environment(repository, image, self._progress)

    def prepare(self, progress: Callable[[str], None]) -> None:
        """Build every catalogued image now (cached ones are only checked), one line
        of ``progress`` per image with its duration. Raises ImageNotAvailable for
        the first one that cannot be built."""
        plans = [self._plan(repository) for repository in sorted(self.dockerfiles)]
        todo = [p.repository for p in plans if not self._is_built(p)]
        if todo:
            progress(
                f"Building the local environment of {len(todo)} image(s) ({', '.join(todo)}): "
                "each runs scripts/install-image as its Dockerfile does (half a minute or more "
                "each; once per code change)."
            )
        for plan in plans:
            with self._lock:
                self._failures.pop(plan.key, None)  # prepare is an explicit retry
            self._environment(plan.repository, plan.repository, progress)

    # -- building --------------------------------------------------------------

    def _repository_lock(self, repository: str) -> threading.Lock:
        with self._lock:
            return self._repository_locks.setdefault(repository, threading.Lock())

    def _environment(
        self, repository: str, image: str, progress: Callable[[str], None]
    ) -> ImageEnvironment:
        with self._repository_lock(repository):
            plan = self._plan(repository)
            with self._lock:
                failure = self._failures.get(plan.key)
            if failure is not None:
                raise failure
            try:
                root = self._ensure_built(plan, progress)
            except ImageNotAvailable as exc:
                with self._lock:
                    self._failures[plan.key] = exc
                raise
        return ImageEnvironment(
            image=image,
            root=root,
            bin_dir=root / "bin",
            entrypoint=list(plan.final.entrypoint),
            cmd=list(plan.final.cmd),
            env={k: _replace_prefix(v, plan.prefix, root) for k, v in plan.final.env.items()},
            user=plan.final.user,
            repository=repository,
            dockerfile=plan.dockerfile.path,
        )

    def _plan(self, repository: str) -> _Plan:
        """Read the Dockerfile and the files its build stage copies; ImageNotAvailable
        when it cannot be built locally."""
        if self._unavailable:
            raise ImageNotAvailable(self._unavailable)
        path = self.dockerfiles[repository]
        if not path.is_file():
            raise ImageNotAvailable(
                f"{path} is missing, so image {repository!r} cannot be built: run local mode "
                "from a checkout of the repository that has it."
            )
        try:
            return _plan_for(repository, parse_dockerfile(path))
        except DockerfileError as exc:
            where = str(exc) if str(exc).startswith(path.name) else f"{path.name} {exc}"
            raise ImageNotAvailable(
                f"Image {repository!r} cannot be built locally: {where} ({path})."
            ) from None

    def _root(self, plan: _Plan) -> Path:
        return self.cache / plan.folder_name

    def _is_built(self, plan: _Plan) -> bool:
        return (self._root(plan) / _MARKER).is_file()

    def _ensure_built(self, plan: _Plan, progress: Callable[[str], None]) -> Path:
        root = self._root(plan)
        if self._is_built(plan):
            _touch(root / _MARKER)  # recently used: kept by pruning
            return root
        self.cache.mkdir(parents=True, exist_ok=True)
        waited = lambda: progress(  # noqa: E731
            f"image {plan.repository}: another process is building it; waiting"
        )
        with file_lock(self.cache / f"{plan.folder_name}.lock", waited):
            if self._is_built(plan):
                return root
            began = time.monotonic()
            self._build(plan, root)
            seconds = time.monotonic() - began
        progress(
            f"image {plan.repository}: built from {plan.dockerfile.path.name} in {seconds:.1f} s "
            f"({root})"
        )
        self._prune(plan)
        return root

    def _prune(self, plan: _Plan) -> None:
        """Remove the plan's repository's other environments unused for
        PRUNE_UNUSED_SECONDS; one being built (its lock held) is left alone."""
        name = re.compile(re.escape(plan.folder_name[:-16]) + r"[0-9a-f]{16}\Z")
        oldest = time.time() - PRUNE_UNUSED_SECONDS
        for folder in self.cache.iterdir():
            if folder.name == plan.folder_name or not name.match(folder.name):
                continue
            try:
                if (folder / _MARKER).stat().st_mtime > oldest:
                    continue
            except OSError:
                continue  # not built (yet)
            with (self.cache / f"{folder.name}.lock").open("a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                (folder / _MARKER).unlink(missing_ok=True)  # first: never half-valid
                shutil.rmtree(folder, ignore_errors=True)
                (self.cache / f"{folder.name}.log").unlink(missing_ok=True)

    def _build(self, plan: _Plan, root: Path) -> None:
        log = self.cache / f"{plan.folder_name}.log"
        shutil.rmtree(root, ignore_errors=True)  # a build that was interrupted
        with tempfile.TemporaryDirectory(
            dir=self.cache, prefix=f".context-{plan.folder_name}-"
        ) as tmp:
            workdir = Path(tmp)
            for relative, source in plan.files:
                target = workdir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
            argv = list(plan.argv)
            argv[plan.script_index + 2] = str(root)  # the PREFIX argument
            command = [plan.interpreter, *argv[plan.script_index :]]
            env = {**os.environ, **plan.build_stage.env_before_run.get(plan.run.line, {})}
            with log.open("wb") as out:
                out.write(f"$ {' '.join(command)}  (in {workdir})\n".encode())
                out.flush()
                result = subprocess.run(
                    command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
                )
        if result.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            last = _last_line(log)
            raise ImageNotAvailable(
                f"Building image {plan.repository!r} from {plan.dockerfile.path.name} failed "
                f"({INSTALL_SCRIPT} exited with status {result.returncode}: {last}); see {log}, "
                "fix the Dockerfile or pyproject.toml and start the pod again."
            )
        marker = {
            "format": _BUILD_FORMAT,
            "repository": plan.repository,
            "dockerfile": str(plan.dockerfile.path),
            "key": plan.key,
            "interpreter": plan.interpreter,
            "builtAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (root / _MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def install_run(dockerfile: Dockerfile) -> tuple[Stage, Run, tuple[str, ...], int]:
    """The stage and RUN instruction that run INSTALL_SCRIPT, the RUN's words and the
    script's index in them. Raises DockerfileError unless exactly one RUN runs it as
    one plain command."""
    found: list[tuple[Stage, Run, tuple[str, ...], int]] = []
    for stage in dockerfile.stages:
        for run in stage.runs:
            words = run.words()
            if words is None:
                if INSTALL_SCRIPT in run.command:
                    raise DockerfileError(
                        f"line {run.line}: run {INSTALL_SCRIPT} as one plain command "
                        "(no &&, pipes or variables), so local mode can run the same line"
                    )
                continue
            for index, word in enumerate(words):
                if PurePosixPath(word).as_posix().endswith(INSTALL_SCRIPT):
                    found.append((stage, run, words, index))
                    break
    if len(found) != 1:
        raise DockerfileError(
            f"has {len(found)} RUN lines running {INSTALL_SCRIPT}; an image's environment "
            "is built by exactly one"
        )
    return found[0]


def _plan_for(repository: str, dockerfile: Dockerfile) -> _Plan:
    stage, run, words, index = install_run(dockerfile)
    if index not in (0, 1) or (index == 1 and not _PYTHON.match(PurePosixPath(words[0]).name)):
        raise DockerfileError(
            f"line {run.line}: run the script directly or as `python3 {INSTALL_SCRIPT} ...`"
        )
    if len(words) != index + 3:
        raise DockerfileError(f"line {run.line}: {INSTALL_SCRIPT} takes EXTRA PREFIX")
    prefix = words[index + 2]
    _check_other_runs(dockerfile, run)
    final = dockerfile.final
    if stage is not final:
        copied = [
            c
            for c in final.copies
            if c.from_stage is not None and stage.refers_to(c.from_stage) and prefix in c.sources
        ]
        if not copied:
            raise DockerfileError(
                f"the final stage does not COPY --from={stage.name or stage.index} {prefix} "
                f"{prefix}, where {INSTALL_SCRIPT} installs"
            )
        if any(c.destination.rstrip("/") != prefix.rstrip("/") for c in copied):
            raise DockerfileError(
                f"line {copied[0].line}: copy {prefix} to the same path (a virtualenv cannot move)"
            )
    for copy in final.copies:
        if copy.from_stage is None and final is not stage:
            raise DockerfileError(
                f"line {copy.line}: the final stage copies from the build context; local mode "
                f"runs only what {INSTALL_SCRIPT} installs, so install it there"
            )
    context = dockerfile.path.parent
    files = _copied_files(context, stage, run.line)
    script = str(PurePosixPath(words[index]))
    script_relative = str(PurePosixPath(stage.workdir, script).relative_to(stage.workdir))
    if script_relative not in dict(files):
        raise DockerfileError(
            f"line {run.line}: {script} is not copied into the build stage before this RUN"
        )
    interpreter = _interpreter(stage.base)
    digest = hashlib.sha256()
    for part in (
        f"format {_BUILD_FORMAT}",
        f"interpreter {os.path.realpath(interpreter)} {_interpreter_version(interpreter)}",
        "dockerfile",
    ):
        digest.update(part.encode() + b"\0")
    digest.update(dockerfile.path.read_bytes() + b"\0")
    ignore = context / ".dockerignore"
    digest.update(ignore.read_bytes() if ignore.is_file() else b"")
    for relative, source in files:
        executable = b"x" if os.access(source, os.X_OK) else b"-"
        digest.update(b"\0" + relative.encode() + b"\0" + executable + b"\0")
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return _Plan(
        repository=repository,
        dockerfile=dockerfile,
        context=context,
        build_stage=stage,
        run=run,
        argv=words,
        script_index=index,
        prefix=prefix,
        files=tuple(files),
        interpreter=interpreter,
        key=digest.hexdigest(),
    )


def _check_other_runs(dockerfile: Dockerfile, install: Run) -> None:
    """Local mode runs only the install step; a final stage may add its user (pods run
    as the kubelet's user locally), anything else would be left out."""
    for stage in dockerfile.stages:
        for run in stage.runs:
            if run is install:
                continue
            words = run.words()
            if stage is dockerfile.final and words and words[0] in _USER_SETUP:
                continue
            raise DockerfileError(
                f"line {run.line}: local mode runs only {INSTALL_SCRIPT} (and useradd in the "
                f"final stage); move this step into {INSTALL_SCRIPT}"
            )


def _copied_files(context: Path, stage: Stage, before_line: int) -> list[tuple[str, Path]]:
    """(path under the stage's WORKDIR, context file) for every file the stage's COPYs
    from the build context bring in before ``before_line``, as Docker copies them."""
    ignore = ContextIgnore.of_context(context)
    workdir = PurePosixPath(stage.workdir)
    files: dict[str, Path] = {}
    for copy in stage.copies:
        if copy.line > before_line:
            break
        if copy.from_stage is not None:
            raise DockerfileError(
                f"line {copy.line}: the install stage copies from another stage; local mode "
                "builds from the build context only"
            )
        destination = workdir / copy.destination
        try:
            destination.relative_to(workdir)
        except ValueError:
            raise DockerfileError(
                f"line {copy.line}: copy into WORKDIR {workdir} (local mode builds in it)"
            ) from None
        into_folder = copy.destination.endswith("/") or len(copy.sources) > 1
        for source in copy.sources:
            matches = _context_matches(context, source, ignore)
            if not matches:
                raise DockerfileError(f"line {copy.line}: COPY {source}: no such file in {context}")
            into_folder = into_folder or len(matches) > 1
            for match in matches:
                if match.is_dir():
                    for file in _walk(context, match, ignore):
                        inner = file.relative_to(match).as_posix()
                        files[str((destination / inner).relative_to(workdir))] = file
                else:
                    target = destination / match.name if into_folder else destination
                    files[str(target.relative_to(workdir))] = match
    return sorted(files.items())


def _context_matches(context: Path, source: str, ignore: ContextIgnore) -> list[Path]:
    relative = str(PurePosixPath("/" + source)).lstrip("/")
    if glob.has_magic(relative):
        found = [Path(p) for p in sorted(glob.glob(relative, root_dir=context))]
        paths = [context / p for p in found]
    else:
        paths = [context / relative] if (context / relative).exists() else []
    return [p for p in paths if not ignore.ignores(p.relative_to(context).as_posix())]


def _walk(context: Path, folder: Path, ignore: ContextIgnore) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not ignore.ignores((here / d).relative_to(context).as_posix())
        )
        for name in sorted(filenames):
            path = here / name
            if not ignore.ignores(path.relative_to(context).as_posix()):
                yield path


def _interpreter(base: str) -> str:
    """The Python that plays the base image: this one when its version matches the
    image's ``python:X.Y…`` tag, else ``pythonX.Y`` on PATH, else this one."""
    match = re.match(r"(?:.*/)?python:(\d+)\.(\d+)", base)
    if not match or (int(match.group(1)), int(match.group(2))) == sys.version_info[:2]:
        return sys.executable
    return shutil.which(f"python{match.group(1)}.{match.group(2)}") or sys.executable


def _interpreter_version(interpreter: str) -> str:
    if interpreter == sys.executable:
        return sys.version
    out = subprocess.run(
        [interpreter, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


def _replace_prefix(value: str, prefix: str, root: Path) -> str:
    """``value`` with the image's install prefix (a whole path or its start) replaced."""
    pattern = re.escape(prefix.rstrip("/")) + r"(?=/|:|\Z)"
    return re.sub(pattern, lambda _: str(root), value)


def _touch(path: Path) -> None:
    with suppress(OSError):  # a read-only cache still serves
        os.utime(path)


def _last_line(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
