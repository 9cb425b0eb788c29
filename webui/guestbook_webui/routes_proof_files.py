"""``GET /api/entries/{name}/proof``: an entry's proof file, C2SP ``tlog-proof``.

The file holds the entry's record (as the ``extra`` data), its leaf index, its
inclusion proof and the checkpoint ``/checkpoint`` publishes, with the
witnesses' cosignatures: everything `guestbook-ledger verify proof` needs to
check it offline, years later, without this server. It is built from the
published checkpoint, not the newest seal, so it carries the cosignatures the
Ledger's witness policy asks for; an entry sealed after that checkpoint gets
its file once a checkpoint that contains it is published.
"""

from __future__ import annotations

from guestbook_ledger.format.proof_file import PROOF_FILE_SUFFIX, build_proof_file
from starlette.requests import Request
from starlette.responses import Response

from guestbook_webui.problems import Problem, not_found, problem_response
from guestbook_webui.routes_api import from_ledger, ledger_entry, reader_of

PROOF_CACHE = "no-cache"
"""The file changes whenever a newer checkpoint is published."""


def _not_yet(request: Request, detail: str) -> Response:
    # A 404 is cacheable by default, but this proof appears with a later checkpoint.
    response = problem_response(not_found(detail), request.url.path)
    response.headers["Cache-Control"] = "no-store"
    return response


async def proof_file(request: Request) -> Response:
    """The proof file of the entry ``name`` of this web UI's ledger (text/plain,
    downloaded as ``<name>.tlog-proof``). 404 problems when there is no such
    entry or it is not yet in a published checkpoint."""
    found = await ledger_entry(request)
    name = found["metadata"]["name"]
    uid = str(found.get("metadata", {}).get("uid", ""))
    material = await from_ledger(reader_of(request).entry_proof(uid))
    entry = material.entry
    if entry is None or entry.leaf_index is None:
        return _not_yet(
            request,
            f"Entry {name!r} is not sealed into the ledger yet; its proof file is ready once it "
            "is sealed and a checkpoint containing it is published.",
        )
    published = material.published
    if published is None or entry.leaf_index >= published.checkpoint.tree_size:
        size = 0 if published is None else published.checkpoint.tree_size
        return _not_yet(
            request,
            f"Entry {name!r} is leaf {entry.leaf_index}, but the newest published checkpoint "
            f"has {size} entries; the proof file is ready once the witnesses have cosigned a "
            "checkpoint that contains it. Try again shortly.",
        )
    try:
        built = build_proof_file(
            index=entry.leaf_index,
            proof=material.proof,
            checkpoint=published.note(),
            extra=entry.record,
        )
    except ValueError as exc:  # a record too large for a proof file: the store was altered
        raise Problem(500, "about:blank", "Internal Server Error", str(exc)) from None
    filename = f"{name}{PROOF_FILE_SUFFIX}"
    return Response(
        built.to_text().encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={
            "Cache-Control": PROOF_CACHE,
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
