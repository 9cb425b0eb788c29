"""The ledger's read API at the web UI's root, as C2SP tlog-tiles specifies:
``/checkpoint``, ``/tile/<L>/<N>[.p/<W>]`` and ``/tile/entries/<N>[.p/<W>]``.

Each answer is read from PostgreSQL with O(1) queries (see
`guestbook_ledger.store.tiles`). Tiles and entry bundles never change once
they exist, so full ones may be cached for a year; the checkpoint changes with
every seal and is cached for seconds. Malformed paths are 400 and tiles beyond
the tree 404, both as problem details.
"""

from __future__ import annotations

from guestbook_ledger.format.tiles import TilePath, TilePathError, entry_bundle, parse_tile_path
from guestbook_ledger.store import TileNotFoundError
from starlette.requests import Request
from starlette.responses import Response

from guestbook_webui.problems import INVALID_TILE_PATH, Problem, not_found, problem_response
from guestbook_webui.routes_api import from_ledger, reader_of

CHECKPOINT_CACHE = "public, max-age=2"
FULL_TILE_CACHE = "public, max-age=31536000, immutable"
PARTIAL_TILE_CACHE = "public, max-age=60"
"""A partial tile never changes either, but clients move on to the full one."""
OCTET_STREAM = "application/octet-stream"


async def checkpoint(request: Request) -> Response:
    """``GET /checkpoint``: the newest checkpoint that the Ledger's witness policy
    allows to publish (the newest one without a policy), as a signed note with
    the witnesses' cosignatures (text/plain)."""
    published = await from_ledger(reader_of(request).published_checkpoint())
    if published is None:
        raise not_found(
            "The ledger has no checkpoint to publish yet: it signs one when its Ledger is "
            "provisioned and with every seal, and publishes one once enough of its witnesses "
            "have cosigned it."
        )
    return Response(
        published.note().encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": CHECKPOINT_CACHE},
    )


def _parse(path: str) -> TilePath:
    try:
        return parse_tile_path("tile/" + path)
    except TilePathError as exc:
        raise Problem(400, INVALID_TILE_PATH, "Invalid tile path", f"{exc}.") from None


def _tile_response(tile: TilePath, body: bytes) -> Response:
    cache = PARTIAL_TILE_CACHE if tile.is_partial else FULL_TILE_CACHE
    return Response(body, media_type=OCTET_STREAM, headers={"Cache-Control": cache})


async def tile(request: Request) -> Response:
    """``GET /tile/<L>/<N>[.p/<W>]`` (hashes) and ``/tile/entries/<N>[.p/<W>]``."""
    wanted = _parse(request.path_params["path"])
    reader = reader_of(request)
    try:
        if wanted.level is None:
            records = await from_ledger(reader.entry_records(wanted))
            return _tile_response(wanted, entry_bundle(records))
        return _tile_response(wanted, await from_ledger(reader.tile(wanted)))
    except TileNotFoundError as exc:
        # A 404 is cacheable by default, but this tile appears with a later seal.
        response = problem_response(not_found(str(exc)), request.url.path)
        response.headers["Cache-Control"] = "no-store"
        return response
