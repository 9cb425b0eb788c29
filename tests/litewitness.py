"""Run litewitness, a witness written by others (filippo.io/torchwood, built from its
Go module at the version pinned in tests/interop/witness/go.mod), on 127.0.0.1:
its key in a dedicated ssh-agent, its log list set with witnessctl."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MODULE = Path(__file__).resolve().parent / "interop" / "witness"


def build_litewitness(folder: Path) -> tuple[Path, Path]:
    """Build litewitness and witnessctl into ``folder``; raise RuntimeError with
    Go's output when the build fails."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = dict(os.environ, GOFLAGS="-mod=readonly", CGO_ENABLED="0", GOTOOLCHAIN="local")
    built = subprocess.run(
        [go, "build", "-o", f"{folder}/", "filippo.io/torchwood/cmd/litewitness",
         "filippo.io/torchwood/cmd/witnessctl"],
        cwd=MODULE, env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        raise RuntimeError(f"building litewitness failed:\n{built.stdout}{built.stderr}")
    return folder / "litewitness", folder / "witnessctl"


@dataclass(frozen=True)
class RunningWitness:
    url: str
    name: str
    key: Ed25519PrivateKey


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def litewitness(
    binaries: tuple[Path, Path], folder: Path, *, origin: str, log_vkey: str
) -> Iterator[RunningWitness]:
    """A litewitness that knows the log ``origin`` with note key ``log_vkey``."""
    server, ctl = binaries
    key = Ed25519PrivateKey.generate()
    key_file = folder / "witness.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    agent_socket = folder / "a.sock"
    db = folder / "witness.db"
    env = dict(os.environ, SSH_AUTH_SOCK=str(agent_socket))
    for args in (["add-log", "-db", str(db), "-origin", origin],
                 ["add-key", "-db", str(db), "-origin", origin, "-key", log_vkey]):  # fmt: skip
        subprocess.run([str(ctl), *args], check=True, capture_output=True, timeout=60)
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(agent_socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    witness: subprocess.Popen[bytes] | None = None
    try:
        _wait(agent_socket.exists, "ssh-agent's socket")
        subprocess.run(
            ["ssh-add", str(key_file)], env=env, check=True, capture_output=True, timeout=30
        )
        port = _free_port()
        name = "witness.example/w1"
        fingerprint = hashlib.sha256(key.public_key().public_bytes_raw()).hexdigest()
        log = (folder / "litewitness.log").open("wb")
        witness = subprocess.Popen(
            [str(server), "-db", str(db), "-name", name, "-key", fingerprint,
             "-ssh-agent", str(agent_socket), "-listen", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait(lambda: _listening(port) or witness.poll() is not None, "litewitness to listen")
        if witness.poll() is not None:
            raise RuntimeError((folder / "litewitness.log").read_text())
        yield RunningWitness(url=f"http://127.0.0.1:{port}", name=name, key=key)
    finally:
        for process in (witness, agent):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
