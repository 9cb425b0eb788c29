"""Run `guestbook-ledger witness` as a real process on 127.0.0.1, and build tiny logs
(an in-memory RFC 9162 tree signed with a log key) whose checkpoints it witnesses."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.checkpoint import checkpoint_text, verifier_key
from guestbook_ledger.format.hashing import leaf_hash
from guestbook_ledger.format.note import Note, sign_note
from guestbook_ledger.format.tree import consistency_proof, root_hash


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def init_witness(state: Path, name: str = "witness.test/w1") -> str:
    """Create a witness in ``state``; return its verifier key."""
    created = run_cli("witness", "init", "--state", str(state), "--name", name)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class ServingWitness:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    vkey: str = ""
    """The verifier key the witness shows on its index page."""

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, as a service manager would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


@contextlib.contextmanager
def serving(state: Path, *log_options: str, port: int | None = None) -> Iterator[ServingWitness]:
    """`witness serve --state STATE --listen 127.0.0.1:PORT LOG_OPTIONS...`, until it
    answers; stopped (SIGTERM, then SIGKILL) afterwards."""
    port = port or free_port()
    log_path = state.parent / f"serve-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "guestbook_cli", "witness", "serve", "--state", str(state),
             "--listen", f"127.0.0.1:{port}", *log_options],
            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )  # fmt: skip
    witness = ServingWitness(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while not _answers(witness.url):
            if process.poll() is not None:
                raise RuntimeError(f"the witness exited:\n{witness.output()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the witness did not answer:\n{witness.output()}")
            time.sleep(0.1)
        with urllib.request.urlopen(witness.url + "/", timeout=30) as response:
            index = response.read().decode()
        witness.vkey = index.split("verifier key: ", 1)[1].split("\n", 1)[0]
        yield witness
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def post(url: str, body: bytes) -> tuple[int, str, str]:
    """POST ``body`` to ``url``; (status, Content-Type, body text)."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@dataclass
class TinyLog:
    """A log of ``origin`` whose leaves are the hashes of b"leaf <i>", signed by ``key``."""

    origin: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    leaves: list[bytes] = field(default_factory=list)

    @property
    def vkey(self) -> str:
        return verifier_key(self.origin, self.key.public_key())

    def grow(self, count: int) -> None:
        start = len(self.leaves)
        self.leaves += [leaf_hash(f"leaf {i}".encode()) for i in range(start, start + count)]

    def note(self, size: int | None = None, root: bytes | None = None) -> str:
        """The signed checkpoint at ``size`` (default: all leaves), or of a forged ``root``."""
        size = len(self.leaves) if size is None else size
        root = root_hash(self.leaves[:size]) if root is None else root
        text = checkpoint_text(self.origin, size, root)
        return Note(text, (sign_note(text, self.origin, self.key),)).to_text()

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return consistency_proof(self.leaves[:new], old) if 0 < old < new else []


def forged_root(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()
