"""Asking a witness to cosign a checkpoint: the client side of C2SP ``tlog-witness``.

``POST <url>/add-checkpoint`` with ``old <size>``, the consistency proof from
that size (base64 lines), a blank line and the signed checkpoint. A 409 with
``text/x.tlog.size`` names the size the witness last cosigned: the request is
sent again from there, once (from the checkpoint's own size too, with an empty
proof: a witness that cosigned it but whose answer was lost cosigns it again).
The answer's cosignature lines are verified with the witness's key before they
are returned. Each request has a deadline for the whole exchange, so a witness
that answers a byte at a time cannot hold up a round. Standard library only,
so worker pods stay small.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from guestbook_ledger.format.checkpoint import parse_checkpoint_text
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, verify_cosignatures
from guestbook_ledger.format.errors import NoteFormatError, SignatureError
from guestbook_ledger.format.note import parse_note

MAX_ANSWER = 64 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"


class WitnessError(Exception):
    """A witness did not cosign; ``kind`` says why: ``unreachable`` (no
    connection, no answer in time, 5xx or 429: it may come back), ``ahead``
    (409 naming a size above the checkpoint's, in ``held``: the caller decides
    whether the log ever had that size), ``conflict`` (409 naming a size that
    cannot be reconciled: a possible fork), ``refused`` (400/403/404/422 and
    other statuses), ``bad-signature``, ``garbage``."""

    def __init__(
        self, kind: str, message: str, *, status: int | None = None, held: int | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.held = held


@dataclass(frozen=True)
class WitnessResult:
    """The witness's verified cosignatures and the old size the accepted request used."""

    cosignatures: list[Cosignature]
    old_size: int


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body of ``add-checkpoint``. Requires at most 63 proof hashes."""
    if len(proof) > 63:
        raise ValueError(f"a consistency proof has at most 63 hashes; got {len(proof)}")
    lines = [f"old {old_size}\n"] + [base64.b64encode(h).decode("ascii") + "\n" for h in proof]
    return ("".join(lines) + "\n" + note).encode("utf-8")


def submit_checkpoint(
    url: str,
    witness: Cosigner,
    note: str,
    proof_from: Callable[[int], list[bytes]],
    *,
    old_size: int = 0,
    timeout: float = 10.0,
) -> WitnessResult:
    """Ask the witness at ``url`` to cosign the signed checkpoint ``note``.

    ``proof_from(size)`` returns the consistency proof from ``size`` to the
    checkpoint's size (empty for 0). ``old_size`` is the size the witness is
    believed to hold. Raises WitnessError (see its kinds).
    """
    text = parse_note(note).text
    size = parse_checkpoint_text(text).tree_size
    for attempt in range(2):
        proof = proof_from(old_size) if 0 < old_size < size else []
        status, media_type, answer = _post(
            url.rstrip("/") + "/add-checkpoint", add_checkpoint_body(old_size, proof, note), timeout
        )
        if status == 200:
            try:
                found = verify_cosignatures(note + answer, [witness])
            except SignatureError as exc:
                raise WitnessError("bad-signature", f"witness {witness.name}: {exc}") from None
            except NoteFormatError as exc:
                raise WitnessError(
                    "garbage", f"witness {witness.name} answered no signature lines: {exc}"
                ) from None
            if not found:
                raise WitnessError(
                    "bad-signature",
                    f"witness {witness.name} answered 200 without a cosignature by its key",
                )
            return WitnessResult(found, old_size)
        if status == 409 and media_type == SIZE_MEDIA_TYPE:
            held = _size(answer)
            if held is None:
                raise WitnessError(
                    "garbage", f"witness {witness.name}: 409 without a tree size", status=409
                )
            if held > size:
                raise WitnessError(
                    "ahead",
                    f"witness {witness.name} holds size {held}, above the checkpoint of size "
                    f"{size}",
                    status=409,
                    held=held,
                )
            if attempt == 0 and held != old_size:
                old_size = held
                continue
            raise WitnessError(
                "conflict",
                f"witness {witness.name} holds size {held} and refuses the checkpoint of size "
                f"{size} from size {old_size}: it saw another tree (a possible fork)",
                status=409,
            )
        if status >= 500 or status == 429:
            raise WitnessError(
                "unreachable",
                f"witness {witness.name} is unavailable ({status}): {_shown(answer)}",
                status=status,
            )
        kind = "conflict" if status == 409 else "refused"
        raise WitnessError(
            kind,
            f"witness {witness.name} refused the checkpoint of size {size} from size {old_size} "
            f"with {status}: {_shown(answer)}",
            status=status,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _shown(answer: str) -> str:
    """A witness's answer as a one-line excerpt fit for an event message."""
    return " ".join(answer.split())[:200] or "(no text)"


def _size(answer: str) -> int | None:
    text = answer.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, str]:
    """POST ``body``; the status, media type and text of the answer. The whole
    exchange has ``timeout`` seconds: then the socket is shut from a timer.
    Raises WitnessError (unreachable, garbage)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WitnessError("unreachable", f"the witness URL {url!r} is not http(s)")
    connection_class = (
        http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parsed.hostname, parsed.port, timeout=timeout)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    try:
        connection.connect()
        timer.start()
        connection.request(
            "POST", path, body=body, headers={"Content-Type": "text/plain; charset=utf-8"}
        )
        response = connection.getresponse()
        data = _read(response)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise WitnessError(
                "unreachable", f"the witness at {url} did not answer within {timeout:g} s"
            ) from None
        raise WitnessError("unreachable", f"cannot reach the witness at {url}: {exc}") from None
    finally:
        timer.cancel()
        connection.close()
    if expired.is_set():
        raise WitnessError(
            "unreachable", f"the witness at {url} did not answer within {timeout:g} s"
        )
    media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError("garbage", "the witness answered bytes that are not UTF-8") from None
    return response.status, media_type, text


def _read(response: http.client.HTTPResponse) -> bytes:
    data = bytearray()
    while len(data) <= MAX_ANSWER:
        chunk = response.read(4096)
        if not chunk:
            return bytes(data)
        data += chunk
    raise WitnessError("garbage", f"the witness answered more than {MAX_ANSWER} bytes")
