"""Build the Go program under tests/interop/go (a standard tlog client made only of
golang.org/x/mod/sumdb/note and sumdb/tlog, fetched from the Go module proxy) and
run it against a served ledger."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

GO_PROGRAM = Path(__file__).resolve().parents[1] / "interop" / "go"
TLOG_PROOF_PROGRAM = Path(__file__).resolve().parents[1] / "interop" / "tlogproof"
"""A proof-file checker made of transparency-dev/formats and transparency-dev/merkle."""


def build_tlogcheck(folder: Path) -> Path:
    """Build ``tlogcheck`` into ``folder`` and return its path. Raises
    RuntimeError (with Go's output) when Go is missing or the build fails."""
    return build_go_program(GO_PROGRAM, folder, "tlogcheck")


def build_go_program(program: Path, folder: Path, name: str) -> Path:
    """Build the Go program in ``program`` (its own module, dependencies from the
    Go module proxy, pinned by its go.sum) into ``folder`` as ``name``."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        raise RuntimeError(f"Go 1.26 or newer is needed to build {program}; install it")
    binary = folder / name
    env = dict(os.environ, GOFLAGS="-mod=readonly", CGO_ENABLED="0")
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=program,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"go build of {program} failed:\n{built.stdout}{built.stderr}")
    return binary


def run_tlogcheck(
    binary: Path, url: str, vkey: str, *, old: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the Go client against the log at ``url``; exit 0 when it all verifies."""
    args = [str(binary), "-url", url, "-vkey", vkey]
    if old is not None:
        args += ["-old", str(old)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
