"""Run litewitness, a witness written by others (filippo.io/torchwood, built from its
Go module at the version pinned in tests/interop/witness/go.mod), on 127.0.0.1:
its key in a dedicated ssh-agent, its log list set with witnessctl. It can be
stopped and started again with the same key, database and port (a witness that
goes away and comes back)."""

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
WITNESS_NAME = "witness.example/w1"


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


def _end(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class LiteWitness:
    """litewitness for the log ``origin`` with note key ``log_vkey``, its files in
    ``folder`` (keep the path short: ssh-agent's socket must stay under 108
    bytes). `start` it, `stop` it, start it again: same key, database, port."""

    def __init__(
        self, binaries: tuple[Path, Path], folder: Path, *, origin: str, log_vkey: str
    ) -> None:
        self._server, ctl = binaries
        self._folder = folder
        self.key = Ed25519PrivateKey.generate()
        key_file = folder / "witness.pem"
        key_file.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        self._key_file = key_file
        self._agent_socket = folder / "a.sock"
        self._db = folder / "witness.db"
        db = str(self._db)
        for args in (["add-log", "-db", db, "-origin", origin],
                     ["add-key", "-db", db, "-origin", origin, "-key", log_vkey]):  # fmt: skip
            subprocess.run([str(ctl), *args], check=True, capture_output=True, timeout=60)
        self.port = _free_port()
        self.running = RunningWitness(f"http://127.0.0.1:{self.port}", WITNESS_NAME, self.key)
        self._agent: subprocess.Popen[bytes] | None = None
        self._witness: subprocess.Popen[bytes] | None = None

    def start(self) -> RunningWitness:
        """Start the witness (and its ssh-agent, the first time); returns once it listens."""
        if self._agent is None:
            self._agent = subprocess.Popen(
                ["ssh-agent", "-D", "-a", str(self._agent_socket)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _wait(self._agent_socket.exists, "ssh-agent's socket")
            env = dict(os.environ, SSH_AUTH_SOCK=str(self._agent_socket))
            subprocess.run(
                ["ssh-add", str(self._key_file)],
                env=env,
                check=True,
                capture_output=True,
                timeout=30,
            )
        fingerprint = hashlib.sha256(self.key.public_key().public_bytes_raw()).hexdigest()
        log = (self._folder / "litewitness.log").open("ab")
        witness = subprocess.Popen(
            [str(self._server), "-db", str(self._db), "-name", WITNESS_NAME, "-key", fingerprint,
             "-ssh-agent", str(self._agent_socket), "-listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._witness = witness
        _wait(lambda: _listening(self.port) or witness.poll() is not None, "litewitness to listen")
        if witness.poll() is not None:
            raise RuntimeError((self._folder / "litewitness.log").read_text())
        return self.running

    def stop(self) -> None:
        """Stop the witness (SIGTERM); its database and key stay for `start`."""
        _end(self._witness)
        self._witness = None

    def close(self) -> None:
        self.stop()
        _end(self._agent)
        self._agent = None


@contextlib.contextmanager
def litewitness(
    binaries: tuple[Path, Path], folder: Path, *, origin: str, log_vkey: str
) -> Iterator[RunningWitness]:
    """A running litewitness that knows the log ``origin`` with note key ``log_vkey``."""
    witness = LiteWitness(binaries, folder, origin=origin, log_vkey=log_vkey)
    try:
        yield witness.start()
    finally:
        witness.close()
