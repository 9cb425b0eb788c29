"""The upstream Kubernetes binaries, built once from their Go modules and cached.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl are
built with the machine's Go from the modules pinned in ``go_modules/`` (one
module for Kubernetes with a ``replace`` line per staging module, one for etcd;
decision 0090). They land in a cache outside the repository keyed by the
versions, so every checkout, test session and ``make demo`` reuses them; a
lock keeps two processes from building at once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from guestbook_localcluster.file_lock import file_lock

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
GO_MINIMUM = (1, 26)  # the `go` line of k8s.io/kubernetes@v1.36.3's go.mod

MODULES = Path(__file__).resolve().parent / "go_modules"


@dataclass(frozen=True)
class Component:
    """One binary: its name, the Go package that is its main, and its module folder."""

    name: str
    package: str
    module: str
    version: str


COMPONENTS = (
    Component("etcd", "go.etcd.io/etcd/server/v3", "etcd", ETCD_VERSION),
    Component(
        "kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", "kubernetes", KUBERNETES_VERSION
    ),
    Component(
        "kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kubernetes",
        KUBERNETES_VERSION,
    ),
    Component(
        "kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", "kubernetes", KUBERNETES_VERSION
    ),
    Component("kubectl", "k8s.io/kubernetes/cmd/kubectl", "kubernetes", KUBERNETES_VERSION),
)


class BuildError(Exception):
    """The binaries cannot be built; the message says what to do."""


def cache_root() -> Path:
    """``$GUESTBOOK_LEDGER_CACHE``, else ``$XDG_CACHE_HOME/guestbook-ledger``, else ~/.cache/…"""
    explicit = os.environ.get("GUESTBOOK_LEDGER_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guestbook-ledger"


def bin_dir() -> Path:
    """Where this release's binaries are (or will be) cached."""
    return cache_root() / f"kubernetes-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}" / "bin"


@dataclass(frozen=True)
class Binaries:
    """Paths of the built binaries."""

    folder: Path

    def __getitem__(self, name: str) -> Path:
        return self.folder / name

    @property
    def kubectl(self) -> Path:
        return self.folder / "kubectl"


def _ldflags(component: Component) -> str:
    if component.module != "kubernetes":
        return "-s -w"
    major, minor = component.version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    # As hack/lib/version.sh does, so /version and kubectl's skew checks are right.
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={component.version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def go_version(go: str) -> tuple[int, int]:
    """The (major, minor) version of the Go at ``go``; raises BuildError if it does not run."""
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(
            f"`{go} env GOVERSION` failed ({exc}); reinstall Go 1.26 or newer."
        ) from exc
    match = re.match(r"go(\d+)\.(\d+)", out)
    if not match:
        raise BuildError(f"Go reported version {out!r}, which is not a release; install Go 1.26+.")
    return int(match.group(1)), int(match.group(2))


def find_go() -> str:
    """The ``go`` command, checked to be new enough; BuildError says what to do otherwise."""
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None
    )
    needed = ".".join(map(str, GO_MINIMUM))
    if go is None:
        raise BuildError(
            f"Go is not installed: install Go {needed} or newer and put `go` on PATH, "
            "then run this again (it builds Kubernetes from its Go modules once)."
        )
    found = go_version(go)
    if found < GO_MINIMUM:
        raise BuildError(
            f"Go {found[0]}.{found[1]} is too old to build Kubernetes {KUBERNETES_VERSION}: "
            f"install Go {needed} or newer (or set GOTOOLCHAIN=go{needed}.0), then run this again."
        )
    return go


def missing(folder: Path | None = None) -> list[Component]:
    """The components whose binary is not in the cache yet."""
    folder = folder or bin_dir()
    return [c for c in COMPONENTS if not os.access(folder / c.name, os.X_OK)]


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_binaries(progress: Callable[[str], None] = _say) -> Binaries:
    """Build whatever is missing from the cache and return the binaries.

    Reuses cached binaries without running Go at all. Raises BuildError with a
    sentence saying what to do when Go is missing or too old or a build fails.
    """
    folder = bin_dir()
    if not missing(folder):
        return Binaries(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(folder.parent / ".lock"):
        todo = missing(folder)  # another process may have built them meanwhile
        if not todo:
            return Binaries(folder)
        go = find_go()
        folder.mkdir(parents=True, exist_ok=True)
        progress(
            f"Building Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION} from their Go "
            f"modules into {folder} (once: about 12 minutes on 2 cores with a cold Go cache, "
            "about a minute when Go's caches are warm)"
        )
        started = time.monotonic()
        for number, component in enumerate(todo, 1):
            progress(f"[{number}/{len(todo)}] building {component.name} {component.version} ...")
            began = time.monotonic()
            _build(go, component, folder)
            progress(
                f"[{number}/{len(todo)}] {component.name} built in {time.monotonic() - began:.0f} s"
            )
        progress(f"All binaries built in {time.monotonic() - started:.0f} s.")
    return Binaries(folder)


def _build(go: str, component: Component, folder: Path) -> None:
    target = folder / component.name
    partial = folder / f".{component.name}.partial"
    command = [
        go,
        "build",
        "-trimpath",
        "-ldflags",
        _ldflags(component),
        "-o",
        str(partial),
        component.package,
    ]
    env = {**os.environ, "GOFLAGS": "-mod=readonly"}
    result = subprocess.run(
        command,
        cwd=MODULES / component.module,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join(result.stdout.strip().splitlines()[-15:])
        raise BuildError(
            f"Building {component.name} failed (go build exited {result.returncode}); "
            f"check that the Go module proxy is reachable and there is disk space, then "
            f"run this again. Go said:\n{tail}"
        )
    partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    """``guestbook-ledger cluster build``: build (or confirm) the cached binaries."""
    del argv
    try:
        binaries = ensure_binaries()
    except BuildError as exc:
        _say(f"error: {exc}")
        return 1
    _say(f"Kubernetes {KUBERNETES_VERSION} and etcd {ETCD_VERSION} binaries: {binaries.folder}")
    return 0
