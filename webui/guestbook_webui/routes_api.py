"""The JSON API: entries from Kubernetes, tree heads, proofs and keys from the ledger
database. Hashes are lowercase hex; a proof is a list of hex hashes, as
`guestbook-ledger verify` takes them. Errors are RFC 9457 problem details.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from guestbook_kube.client import ApiError
from guestbook_kube.resources import entry_ledger
from guestbook_ledger.store import (
    DatabaseUnavailableError,
    LedgerNameError,
    TreeSizeError,
    UnknownLedgerError,
)
from guestbook_ledger.store.history import MAX_HISTORY_PAGE
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from guestbook_webui.app_state import web_state
from guestbook_webui.entry_names import checked_entry_name
from guestbook_webui.entry_view import entry_json
from guestbook_webui.kube import KubeUnavailableError
from guestbook_webui.kube_problems import kube_problem
from guestbook_webui.ledger_reader import LedgerReader
from guestbook_webui.problems import (
    EXPIRED_CURSOR,
    LEDGER_DATABASE_NOT_CONFIGURED,
    LEDGER_DATABASE_UNAVAILABLE,
    Problem,
    invalid_parameter,
    not_found,
)

T = TypeVar("T")
MAX_LIST = 1000
MAX_CURSOR = 4096
"""Longest continue token accepted (the API server's are a few hundred bytes)."""


def int_param(request: Request, name: str, *, default: int | None = None) -> int:
    """The query parameter ``name`` as a non-negative integer; raises Problem 400
    when it is missing (and has no default) or malformed."""
    raw = request.query_params.get(name)
    if raw is None:  # given but empty is malformed, as the OpenAPI document says
        if default is None:
            raise invalid_parameter(name, f"Give the query parameter {name}, an integer.")
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise invalid_parameter(
            name, f"The query parameter {name} must be a non-negative integer; got {raw[:40]!r}."
        )
    return int(raw)


def reader_of(request: Request) -> LedgerReader:
    reader = web_state(request).reader
    if reader is None:
        raise Problem(
            503,
            LEDGER_DATABASE_NOT_CONFIGURED,
            "Ledger database not configured",
            "This web UI was started without a ledger database, so it serves no tree heads "
            "or proofs; start it with --dsn (or GUESTBOOK_DSN).",
        )
    return reader


async def from_ledger(read: Awaitable[T]) -> T:
    """Await a ledger database read, turning store errors into problems."""
    try:
        return await read
    except DatabaseUnavailableError as exc:
        raise Problem(
            503, LEDGER_DATABASE_UNAVAILABLE, "Ledger database unavailable", str(exc)
        ) from None
    except UnknownLedgerError:
        raise not_found(
            "The ledger has no entries in the database yet; it appears with its first sealed entry."
        ) from None
    except (TreeSizeError, LedgerNameError) as exc:
        raise Problem(400, "about:blank", "Bad Request", str(exc)) from None


async def list_entries(request: Request) -> JSONResponse:
    """``GET /api/entries?limit=N``: this ledger's newest entries, newest first (default
    100, at most the feed's window). ``GET /api/entries?continue=[T]``: every entry,
    a page at a time in the API server's order (by name): an empty ``continue``
    starts, each answer's ``continue`` gives the next page (null after the last)."""
    state = web_state(request)
    limit = int_param(request, "limit", default=state.settings.page_size)
    if not 1 <= limit <= MAX_LIST:
        raise invalid_parameter("limit", f"limit must be between 1 and {MAX_LIST}; got {limit}.")
    if "continue" in request.query_params:
        return await _entries_page(request, limit, request.query_params["continue"])
    if limit > state.feed.window:
        raise invalid_parameter(
            "limit",
            f"The newest {state.feed.window} entries are kept for this list; ask for at most "
            "that many, or page through every entry with ?continue=.",
        )
    if not state.feed.synced.is_set():
        raise kube_problem(
            KubeUnavailableError(
                "The web UI has not yet read the entries from Kubernetes"
                + (f" ({state.feed.last_error})" if state.feed.last_error else "")
                + "; try again shortly."
            )
        )
    items = [entry_json(entry) for entry in state.feed.entries(limit)]
    return JSONResponse(
        {"namespace": state.settings.namespace, "ledger": state.settings.ledger, "items": items}
    )


async def _entries_page(request: Request, limit: int, token: str) -> JSONResponse:
    """One page of every entry of the ledger, straight from the API server (memory:
    one page; decision 0128). Entries of other ledgers in the namespace are left
    out, so a page may hold fewer than ``limit``."""
    state = web_state(request)
    if len(token) > MAX_CURSOR or not token.isascii() or not token.isprintable():
        raise invalid_parameter(
            "continue", "The continue token is malformed; pass the one the last page gave."
        )
    try:
        page = await state.kube.list_entries_page(
            state.settings.namespace, limit=limit, continue_token=token
        )
    except ApiError as exc:
        if exc.code == 410 or (exc.code == 400 and token):
            raise Problem(
                410 if exc.code == 410 else 400,
                EXPIRED_CURSOR,
                "Cursor expired" if exc.code == 410 else "Invalid cursor",
                "This continue token is too old or not one this server gave; start again "
                "from the first page (?continue=).",
            ) from None
        raise kube_problem(exc) from None
    except KubeUnavailableError as exc:
        raise kube_problem(exc) from None
    ledger = state.settings.ledger
    items = [entry_json(item) for item in page.items if entry_ledger(item) == ledger]
    return JSONResponse(
        {
            "namespace": state.settings.namespace,
            "ledger": ledger,
            "items": items,
            "continue": page.continue_token or None,
        }
    )


async def ledger_entry(request: Request) -> dict[str, Any]:
    """The GuestbookEntry of this web UI's ledger named by the path parameter
    ``name``, read from the Kubernetes API. Raises Problem: 404 when there is
    none (before any call for a name no Kubernetes object can have, decision
    0122), the Kubernetes API's problem when it fails."""
    state = web_state(request)
    name = checked_entry_name(request.path_params["name"])
    try:
        found = await state.kube.get_entry(state.settings.namespace, name)
    except (ApiError, KubeUnavailableError) as exc:
        raise kube_problem(exc) from None
    if found is None or entry_ledger(found) != state.settings.ledger:
        raise not_found(
            f"There is no guestbook entry {name!r} in ledger "
            f"{state.settings.ledger_name!r}; check the name."
        )
    return found


async def get_entry(request: Request) -> JSONResponse:
    """``GET /api/entries/{name}``: one entry, read from the Kubernetes API."""
    return JSONResponse(entry_json(await ledger_entry(request)))


async def ledger(request: Request) -> JSONResponse:
    """``GET /api/ledger``: tree size, root and the latest signed tree head."""
    state = web_state(request)
    head = await from_ledger(reader_of(request).latest_tree_head())
    body: dict[str, Any] = {
        "ledger": state.settings.ledger_name,
        "treeSize": 0 if head is None else head.tree_size,
        "rootHash": None if head is None else head.root_hash.hex(),
        "signedTreeHead": None if head is None else head.to_dict(),
    }
    return JSONResponse(body)


async def _size_or_latest(request: Request, reader: LedgerReader, name: str) -> int:
    """The tree size in query parameter ``name``; absent or empty, the latest
    signed size (0 before the first seal). Raises Problem 400 when it is
    malformed (see `int_param`)."""
    if request.query_params.get(name, "") == "":
        head = await from_ledger(reader.latest_tree_head())
        return 0 if head is None else head.tree_size
    return int_param(request, name)


async def inclusion(request: Request) -> JSONResponse:
    """``GET /api/proofs/inclusion?index=I&size=N``: the inclusion proof of leaf I in
    the tree of N leaves (default: the latest signed size), with that tree's root
    and, when one was signed at exactly N, its signed tree head."""
    reader = reader_of(request)
    index = int_param(request, "index")
    tree_size = await _size_or_latest(request, reader, "size")
    proof, root = await from_ledger(reader.inclusion(index, tree_size))
    head = await from_ledger(reader.tree_head_at(tree_size))
    return JSONResponse(
        {
            "ledger": reader.ledger,
            "leafIndex": index,
            "treeSize": tree_size,
            "rootHash": root.hex(),
            "proof": [element.hex() for element in proof],
            "signedTreeHead": None if head is None else head.to_dict(),
        }
    )


async def consistency(request: Request) -> JSONResponse:
    """``GET /api/proofs/consistency?from=A&to=B``: the consistency proof between the
    trees of A and B leaves (B defaults to the latest signed size), with both roots."""
    reader = reader_of(request)
    size1 = int_param(request, "from")
    size2 = await _size_or_latest(request, reader, "to")
    proof, root1, root2 = await from_ledger(reader.consistency(size1, size2))
    return JSONResponse(
        {
            "ledger": reader.ledger,
            "from": size1,
            "to": size2,
            "fromRootHash": root1.hex(),
            "toRootHash": root2.hex(),
            "proof": [element.hex() for element in proof],
        }
    )


async def public_key(request: Request) -> Response:
    """``GET /api/public-key[?keyId=K]``: the Ed25519 key (PEM) that signs the tree
    heads — by default the one that signed the latest head."""
    reader = reader_of(request)
    keys = await from_ledger(reader.public_keys())
    wanted = request.query_params.get("keyId")
    if not wanted:
        head = await from_ledger(reader.latest_tree_head())
        wanted = head.key_id if head is not None else (keys[0].key_id if keys else "")
    for key in keys:
        if key.key_id == wanted:
            return PlainTextResponse(
                key.pem,
                media_type="application/x-pem-file",
                headers={"X-Key-Id": key.key_id},
            )
    raise not_found(f"No signing key with id {wanted!r} is registered for {reader.ledger!r}.")


async def verifiers(request: Request) -> JSONResponse:
    """``GET /api/verifiers``: what the browser verifies checkpoints with — the
    ledger's origin, its note verifier keys and its witness policy (null when it
    names no witnesses). A reader who distrusts this server compares them with
    the Ledger's ``status.verifierKey`` and ``spec.witnesses``."""
    reader = reader_of(request)
    found = await from_ledger(reader.verifiers())
    policy = found.policy
    return JSONResponse(
        {
            "ledger": reader.ledger,
            "origin": found.origin,
            "verifierKeys": list(found.verifier_keys),
            "witnessPolicy": None
            if policy is None
            else {
                "version": policy.version,
                "quorum": policy.quorum,
                "witnesses": [
                    {"name": w.name, "verifierKey": w.cosigner.to_text(), "url": w.url}
                    for w in policy.witnesses
                ],
            },
        }
    )


async def checkpoints(request: Request) -> JSONResponse:
    """``GET /api/checkpoints[?below=N][&limit=L]``: the signed tree heads with a
    size below N (default: all), largest first, L at a time (default 100, at
    most 1000); each checkpoint's ``note`` carries every stored cosignature.
    ``next`` is the ``below`` of the following page (null at the end)."""
    reader = reader_of(request)
    limit = int_param(request, "limit", default=100)
    if not 1 <= limit <= MAX_HISTORY_PAGE:
        raise invalid_parameter(
            "limit", f"limit must be between 1 and {MAX_HISTORY_PAGE}; got {limit}."
        )
    below = int_param(request, "below") if "below" in request.query_params else None
    page = await from_ledger(reader.history(below=below, limit=limit))
    items = [
        {
            "format": "checkpoint" if item.note() is not None else "sth-json-v1",
            "treeSize": item.head.tree_size,
            "rootHash": item.head.root_hash.hex(),
            "timestamp": item.head.timestamp,
            "note": item.note(),
        }
        for item in page
    ]
    more = len(page) == limit and page[-1].head.tree_size > 0
    return JSONResponse(
        {
            "ledger": reader.ledger,
            "items": items,
            "next": page[-1].head.tree_size if more else None,
        }
    )
