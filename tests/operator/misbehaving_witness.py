"""A witness that answers badly on purpose: an attacker (or a broken witness) on
127.0.0.1 speaking just enough of C2SP tlog-witness to lie. It holds a real
cosignature key, so its forgeries look like they come from the witness the
ledger's policy names. Not a stand-in for a real witness: the honest path is
tested against litewitness (tests/litewitness.py)."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosigner, cosign
from guestbook_ledger.format.note import parse_note

# How each mode answers POST /add-checkpoint.
MODES = {
    "bad-signature": "200 with a cosignature line by its key ID whose signature is wrong",
    "other-checkpoint": "200 with a valid cosignature, but of another checkpoint",
    "stranger": "200 with a valid cosignature by a key the policy does not name",
    "larger-size": "409 naming a tree size larger than the log ever had",
    "stuck-409": "409 naming size 1 to every request, also one sent from size 1",
    "unprocessable": "422 (the consistency proof does not convince it)",
    "garbage": "200 with bytes that are not a signature line",
    "binary": "200 with bytes that are not UTF-8",
    "huge": "200 with more bytes than any answer may have",
    "unavailable": "503",
    "hang": "accepts the request and never answers (until released)",
    "drip": "answers one byte every half second",
}


@dataclass
class MisbehavingWitness:
    """``mode`` (one of MODES) may change while it serves; ``requests`` counts them."""

    name: str
    key: Ed25519PrivateKey
    mode: str
    url: str = ""
    requests: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)

    @property
    def cosigner(self) -> Cosigner:
        return Cosigner.for_key(self.name, self.key.public_key())

    def policy_entry(self) -> dict[str, str]:
        """Its entry in a Ledger's spec.witnesses."""
        return {"name": self.name, "verifierKey": self.cosigner.to_text(), "url": self.url}

    def answer(self, body: bytes) -> tuple[int, str, bytes]:
        """Status, content type and body of the answer to an add-checkpoint ``body``."""
        _, _, note = body.partition(b"\n\n")
        text = parse_note(note).text
        now = int(time.time())
        if self.mode == "bad-signature":
            line = cosign(self.key, self.name, text, now)
            broken = bytearray(line.signature)
            broken[-1] ^= 0x01
            return 200, "text/plain", _line(self.name, line.key_id, bytes(broken))
        if self.mode == "other-checkpoint":
            lines = text.split("\n")
            lines[1] = str(int(lines[1]) + 1)  # the tree size line
            line = cosign(self.key, self.name, "\n".join(lines), now)
            return 200, "text/plain", line.to_line().encode()
        if self.mode == "stranger":
            line = cosign(Ed25519PrivateKey.generate(), "stranger.example/w", text, now)
            return 200, "text/plain", line.to_line().encode()
        if self.mode == "larger-size":
            return 409, "text/x.tlog.size", b"1000000\n"
        if self.mode == "stuck-409":
            return 409, "text/x.tlog.size", b"1\n"
        if self.mode == "unprocessable":
            return 422, "text/plain", b"bad consistency proof\n"
        if self.mode == "garbage":
            return 200, "text/plain", b"hello, I am definitely a witness\n"
        if self.mode == "binary":
            return 200, "application/octet-stream", os.urandom(64) + b"\xff\xfe"
        if self.mode == "huge":
            return 200, "text/plain", b"x" * (200 * 1024)
        if self.mode == "unavailable":
            return 503, "text/plain", b"come back later\n"
        raise AssertionError(f"unknown mode {self.mode}")


def _line(name: str, key_id: bytes, signature: bytes) -> bytes:
    return f"\u2014 {name} {base64.b64encode(key_id + signature).decode()}\n".encode()


def _handler(witness: MisbehavingWitness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            witness.requests += 1
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if witness.mode == "hang":
                witness.hanging.set()
                witness.release.wait(120)
                return
            if witness.mode == "drip":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                for _ in range(240):  # bounded: 2 minutes at most
                    if witness.release.is_set():
                        return
                    try:
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(0.5)
                return
            status, media_type, answer = witness.answer(body)
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up on a huge answer
                self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def misbehaving_witness(
    mode: str, name: str = "attacker.example/w"
) -> Iterator[MisbehavingWitness]:
    """A MisbehavingWitness serving on 127.0.0.1 (a free port) until the block ends."""
    witness = MisbehavingWitness(name, Ed25519PrivateKey.generate(), mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(witness))
    server.daemon_threads = True
    witness.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield witness
    finally:
        witness.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
