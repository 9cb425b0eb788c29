"""The checks of tlog-witness ``add-checkpoint``, in the order the spec gives them,
and the answer for each outcome (c2sp.org/tlog-witness, revision of July 2026).

=====  ================================================================
 400   malformed body, note or checkpoint; old size above the checkpoint's
 404   the checkpoint's origin is not a log this witness witnesses
 403   no valid signature by a trusted key of that log, or one that fails
 409   old size is not the size held (body: the held size, ``text/x.tlog.size``)
 422   size 0 with a root other than the empty tree's; a proof from size 0;
       a consistency proof that does not verify; the held size with another
       root (a split view)
 200   the ``cosignature/v1`` line, after the new checkpoint is stored
=====  ================================================================

The checks that depend on what is held run inside the store's transaction
(`WitnessStore.decide`), so checking and recording are one atomic step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guestbook_ledger.format.checkpoint import Checkpoint, parse_checkpoint_text
from guestbook_ledger.format.errors import (
    CheckpointFormatError,
    NoteFormatError,
    ProofError,
    ProofFormatError,
    SignatureError,
)
from guestbook_ledger.format.hashing import EMPTY_ROOT
from guestbook_ledger.format.note import Note, open_note, parse_note
from guestbook_ledger.format.proof import verify_consistency

from guestbook_witness.identity import WitnessIdentity
from guestbook_witness.logs import LogList
from guestbook_witness.request import (
    AddCheckpointRequest,
    RequestFormatError,
    parse_add_checkpoint,
)
from guestbook_witness.state import Held, Refusal, Verdict, WitnessStore

TEXT = "text/plain; charset=utf-8"
SIZE_MEDIA_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, media type and body text."""

    status: int
    body: str
    content_type: str = TEXT


def _refused(status: int, reason: str) -> Answer:
    """A refusal as one sentence: capitalised, a full stop, a newline."""
    sentence = reason[:1].upper() + reason[1:].rstrip(".")
    return Answer(status, sentence + ".\n")


def add_checkpoint(
    body: bytes,
    *,
    logs: LogList,
    store: WitnessStore,
    identity: WitnessIdentity,
    clock: Callable[[], int],
) -> Answer:
    """Check an ``add-checkpoint`` request body and cosign it, or say why not.

    ``clock()`` is the cosignature's timestamp (POSIX seconds, > 0). Raises
    sqlite3.Error only when the store fails (the server answers 500 then;
    nothing was cosigned).
    """
    try:
        request = parse_add_checkpoint(body)
        note = parse_note(request.note)
        checkpoint = parse_checkpoint_text(note.text)
    except (RequestFormatError, NoteFormatError, CheckpointFormatError) as exc:
        return _refused(400, str(exc))
    keys = logs.keys_of(checkpoint.origin)
    if not keys:
        return _refused(404, f"this witness does not witness the log {checkpoint.origin!r}")
    try:
        _, verified = open_note(request.note, list(keys))
    except SignatureError as exc:
        return _refused(403, f"the checkpoint of {checkpoint.origin!r} is not signed: {exc}")
    if request.old_size > checkpoint.tree_size:
        return _refused(
            400,
            f"the old size {request.old_size} is larger than the checkpoint's size "
            f"{checkpoint.tree_size}",
        )
    log_signatures = [
        sig for sig in note.signatures if any((sig.name, sig.key_id) == (v.name, v.key_id)
                                             for v in verified)
    ]  # fmt: skip
    cosignature: list[str] = []

    def judge(held: Held | None) -> Verdict:
        refusal = _inconsistency(request, checkpoint, held)
        if refusal is not None:
            return refusal
        timestamp = clock()
        line = identity.cosign(note.text, timestamp)
        cosignature.append(line.to_line())
        cosigned = Note(note.text, (*log_signatures, line)).to_text()
        return Held(checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash, cosigned,
                    timestamp)  # fmt: skip

    verdict = store.decide(checkpoint.origin, judge, request=body, now=clock())
    if isinstance(verdict, Held):
        return Answer(200, cosignature[-1])
    if verdict.status == 409:
        return Answer(409, f"{verdict.held_size}\n", SIZE_MEDIA_TYPE)
    return _refused(verdict.status, verdict.reason)


def _inconsistency(
    request: AddCheckpointRequest, checkpoint: Checkpoint, held: Held | None
) -> Refusal | None:
    """Why the checkpoint is not consistent with what is ``held``, or None if it is."""
    held_size = held.tree_size if held is not None else 0
    origin, size = checkpoint.origin, checkpoint.tree_size
    if request.old_size != held_size:
        return Refusal(
            409, f"this witness holds size {held_size} of {origin!r}", held_size=held_size
        )
    if size == 0 and checkpoint.root_hash != EMPTY_ROOT:
        return Refusal(
            422, "a checkpoint of size 0 must have the empty tree's root hash", evidence=True
        )
    if request.old_size == 0:
        if request.proof:
            return Refusal(
                422,
                f"the consistency proof from size 0 must be empty; got {len(request.proof)} hashes",
            )
        return None
    assert held is not None  # old_size == held_size > 0
    if size == held.tree_size and checkpoint.root_hash != held.root_hash:
        return Refusal(
            422,
            f"this witness cosigned another root for {origin!r} at size {size}: the log shows "
            "a split view",
            evidence=True,
        )
    try:
        verify_consistency(
            size1=held.tree_size,
            size2=size,
            proof=request.proof,
            root1=held.root_hash,
            root2=checkpoint.root_hash,
        )
    except (ProofError, ProofFormatError) as exc:
        return Refusal(
            422,
            f"the consistency proof from size {held.tree_size} to {size} of {origin!r} does "
            f"not verify ({exc})",
            evidence=True,
        )
    return None
