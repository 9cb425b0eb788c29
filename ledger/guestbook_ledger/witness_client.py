"""Asking a witness to cosign a checkpoint: the client side of C2SP ``tlog-witness``.

``POST <url>/add-checkpoint`` with ``old <size>``, the consistency proof from
that size (base64 lines), a blank line and the signed checkpoint. A 409 with
``text/x.tlog.size`` names the size the witness last cosigned: the request is
sent again from there, once. The answer's cosignature lines are verified with
the witness's key before they are returned. Standard library only, so worker
pods stay small.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from guestbook_ledger.format.checkpoint import parse_checkpoint_text
from guestbook_ledger.format.cosignature import Cosignature, Cosigner, verify_cosignatures
from guestbook_ledger.format.errors import NoteFormatError, SignatureError
from guestbook_ledger.format.note import parse_note

MAX_ANSWER = 64 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"


class WitnessError(Exception):
    """A witness did not cosign; ``kind`` says why: ``unreachable``, ``conflict``
    (409 naming a size that cannot be reconciled: a possible fork), ``refused``
    (400/403/404/422 and other statuses), ``bad-signature``, ``garbage``."""

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


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
        if status == 409 and media_type == SIZE_MEDIA_TYPE and attempt == 0:
            held = _size(answer)
            if held is None:
                raise WitnessError("garbage", f"witness {witness.name}: 409 without a size")
            if held >= size or held == old_size:
                raise WitnessError(
                    "conflict",
                    f"witness {witness.name} holds size {held} and refuses the checkpoint of size "
                    f"{size} from size {old_size}: it saw another tree (a possible fork)",
                    status=409,
                )
            old_size = held
            continue
        kind = "conflict" if status == 409 else "refused"
        raise WitnessError(
            kind,
            f"witness {witness.name} refused the checkpoint of size {size} from size {old_size} "
            f"with {status}: {answer.strip()[:200]}",
            status=status,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _size(answer: str) -> int | None:
    text = answer.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 20 else None


def _post(url: str, body: bytes, timeout: float) -> tuple[int, str, str]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _media_type(response.headers), _read(response)
    except urllib.error.HTTPError as exc:
        return exc.code, _media_type(exc.headers), _read(exc)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise WitnessError("unreachable", f"cannot reach the witness at {url}: {exc}") from None


def _media_type(headers: Any) -> str:
    value = str(headers.get("Content-Type", "") if headers is not None else "")
    return value.split(";")[0].strip().lower()


def _read(response: Any) -> str:
    data: bytes = response.read(MAX_ANSWER + 1)
    if len(data) > MAX_ANSWER:
        raise WitnessError("garbage", f"the witness answered more than {MAX_ANSWER} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessError("garbage", "the witness answered bytes that are not UTF-8") from None
