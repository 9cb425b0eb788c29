"""The witness's HTTP interface (Starlette; uvicorn serves it, see `cli`).

- ``POST /add-checkpoint``: tlog-witness submission (see `cosigning`); bodies
  over 128 KiB are refused with 413 before they are read in full.
- ``GET /<hex SHA-256 of an origin>/checkpoint``: tlog-witness monitoring, the
  latest checkpoint cosigned for that log with the log's signature and the
  cosignature; 404 before the first.
- ``GET /``: the witness's name, verifier key and logs, as text.

Every answer is plain text, one sentence for a refusal (tlog-witness clients
print the body as it is).
"""

from __future__ import annotations

import hashlib
import logging
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from guestbook_witness.cosigning import SIZE_MEDIA_TYPE, Answer, add_checkpoint
from guestbook_witness.identity import WitnessIdentity
from guestbook_witness.logs import LogList
from guestbook_witness.request import MAX_BODY_BYTES
from guestbook_witness.state import WitnessStore

log = logging.getLogger("guestbook_witness")

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    """The request body; raises BodyTooLarge past MAX_BODY_BYTES without reading on."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(identity: WitnessIdentity, logs: LogList, store: WitnessStore) -> Starlette:
    """The witness application for ``identity``, witnessing ``logs``, storing in ``store``."""
    by_hash = {hashlib.sha256(origin.encode()).hexdigest(): origin for origin in logs.origins()}

    async def submit(request: Request) -> Response:
        try:
            body = await _read_body(request)
        except BodyTooLarge:
            return PlainTextResponse(
                f"The request body is larger than {MAX_BODY_BYTES} bytes.\n", status_code=413
            )
        answer: Answer = await run_in_threadpool(
            add_checkpoint,
            body,
            logs=logs,
            store=store,
            identity=identity,
            clock=lambda: int(time.time()),
        )
        if answer.status != 200 and answer.content_type != SIZE_MEDIA_TYPE:
            log.info("add-checkpoint refused with %d: %s", answer.status, answer.body.strip())
        # Set as is: Starlette would append a charset to text/x.tlog.size.
        return Response(
            answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type}
        )

    async def monitor(request: Request) -> Response:
        origin = by_hash.get(request.path_params["origin_hash"])
        held = await run_in_threadpool(store.held, origin) if origin is not None else None
        if held is None:
            return PlainTextResponse(
                "This witness has cosigned no checkpoint of that log.\n", status_code=404
            )
        return Response(
            held.note, media_type=NOTE_MEDIA_TYPE, headers={"Cache-Control": "no-store"}
        )

    async def index(request: Request) -> Response:
        lines = [f"tlog-witness {identity.name}", f"verifier key: {identity.verifier_key()}"]
        lines += [f"witnesses: {origin}" for origin in logs.origins()]
        return PlainTextResponse("\n".join(lines) + "\n")

    return Starlette(
        routes=[
            Route("/add-checkpoint", submit, methods=["POST"]),
            Route("/{origin_hash:str}/checkpoint", monitor, methods=["GET"]),
            Route("/", index, methods=["GET"]),
        ]
    )
