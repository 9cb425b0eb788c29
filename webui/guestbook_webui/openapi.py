"""``GET /openapi.json``: the OpenAPI 3.1 document of every route the web UI serves.

Hand-written (decision 0129): the routes are plain Starlette functions, and a
generator would need a framework or annotations on each of them for less
than this file. ``tests/webui/test_webui_openapi.py`` checks that its paths
and methods are exactly the app's routes, and runs schemathesis against a
live web UI: no 500, every response as documented here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

PROBLEM = "application/problem+json"
HTML = "text/html"

_STRING: dict[str, Any] = {"type": "string"}
_INTEGER: dict[str, Any] = {"type": "integer"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; ``required`` defaults to none listed."""
    schema: dict[str, Any] = {"type": "object"}
    if required is not None:
        schema["required"] = required
    return {**schema, "properties": properties}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_problem_schema = _object(
    {
        "type": _STRING,
        "title": _STRING,
        "status": _INTEGER,
        "detail": _STRING,
        "instance": _STRING,
        "errors": _array(_object({"pointer": _STRING, "parameter": _STRING, "detail": _STRING})),
    },
    ["type", "title", "status", "detail"],
)
_entry_schema = _object(
    {
        "name": _STRING,
        "namespace": _STRING,
        "uid": _STRING,
        "createdAt": _STRING,
        "spec": _object({"ledger": _STRING, "author": _STRING, "message": _STRING}),
        "status": {"type": "object"},
    },
    ["name", "namespace", "uid", "createdAt", "spec", "status"],
)
_ENTRY = {"$ref": "#/components/schemas/Entry"}
_tree_head_schema: dict[str, Any] = {"type": ["object", "null"]}
_retry_after = {"Retry-After": {"schema": _STRING}}
_location = {"Location": {"schema": _STRING}}


def _problem(description: str, *, retry: bool = False, html: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if html:
        content[HTML] = {"schema": _STRING}
    answer: dict[str, Any] = {"description": description, "content": content}
    if retry:
        answer["headers"] = _retry_after
    return answer


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _typed(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": _STRING}}}


RATE_LIMITED = _problem("Too many requests from this client; wait Retry-After seconds.", retry=True)
CLUSTER = _problem("The Kubernetes API is unavailable or refused (a sentence says why).")
DATABASE = _problem("The ledger database is not configured or unavailable.")
BAD_QUERY = _problem("A query parameter is malformed (errors name it).")
NOT_FOUND = _problem("Nothing there (the detail says what to check).")
FROM_DATABASE = {"404": NOT_FOUND, "503": DATABASE}


def _op(summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": {**responses, "429": RATE_LIMITED}, **more}


def _query(name: str, schema: dict[str, Any], description: str, *, required: bool = False):  # type: ignore[no-untyped-def]
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


_size = {"type": "integer", "minimum": 0}
# A size that may be given empty, meaning the latest signed size.
_size_or_latest = {"anyOf": [_size, {"type": "string", "maxLength": 0}]}
TILE_PATH = r"^(entries|[0-9]{1,2})/(x[0-9]{3}/)*[0-9]{3}(\.p/[0-9]{1,3})?$"
_submission = _object(
    {
        "author": {"type": ["string", "null"], "maxLength": 64},
        "message": {"type": "string", "minLength": 1, "maxLength": 2000},
    },
    ["message"],
)
_name_param = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": _STRING,
    "description": "The entry's name (a Kubernetes object name; anything else is 404).",
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Guestbook Ledger web UI",
        "version": "1",
        "description": "Sign the guestbook, read its entries, tree heads and proofs. "
        "Errors are RFC 9457 problem details. Limits: webui/README.md.",
    },
    "paths": {
        "/": {"get": _op("The page: the form and the newest entries.", {"200": _typed("", HTML)})},
        "/entries": {
            "post": _op(
                "Sign: create a GuestbookEntry (JSON: 201 with it; a form: 303 to the page).",
                {
                    "201": {**_json("The entry as created.", _ENTRY), "headers": _location},
                    "303": {
                        "description": "Signed; the page shows the entry.",
                        "headers": _location,
                    },
                    "400": _problem("The body does not parse or nests too deeply.", html=True),
                    "403": _problem("Sent for another site (CSRF): refused."),
                    "408": _problem("The body arrived too slowly.", html=True),
                    "413": _problem("The body is over 64 KiB.", html=True),
                    "415": _problem("Neither JSON nor a form.", html=True),
                    "422": _problem("The entry breaks a rule (errors say which).", html=True),
                    "502": _problem("The cluster refused.", html=True),
                    "503": _problem("The cluster is unavailable.", html=True),
                },
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": _submission},
                        "application/x-www-form-urlencoded": {"schema": _submission},
                    },
                },
            )
        },
        "/how-to-verify": {
            "get": _op("How to verify the ledger offline.", {"200": _typed("", HTML)})
        },
        "/ledger": {
            "get": _op(
                "The ledger's checkpoint history, verified in the browser.",
                {"200": _typed("", HTML)},
            )
        },
        "/entries/{name}/verify": {
            "get": _op(
                "The page that verifies one entry in the browser.",
                {"200": _typed("", HTML), "404": NOT_FOUND},
                parameters=[_name_param],
            )
        },
        "/events": {
            "get": _op(
                "Server-Sent Events: snapshot, then entry and deleted (never ends).",
                {
                    "200": _typed("The stream.", "text/event-stream"),
                    "503": _problem("Too many streams are open; retry later.", retry=True),
                },
            )
        },
        "/api/entries": {
            "get": _op(
                "The newest entries, newest first; with continue, every entry, a page at a time.",
                {
                    "200": _json(
                        "A list (continue: the next page's token, null after the last).",
                        _object(
                            {
                                "namespace": _STRING,
                                "ledger": _STRING,
                                "items": _array(_ENTRY),
                                "continue": {"type": ["string", "null"]},
                            },
                            ["namespace", "ledger", "items"],
                        ),
                    ),
                    "400": BAD_QUERY,
                    "410": _problem("The continue token expired; start again."),
                    "502": CLUSTER,
                    "503": CLUSTER,
                },
                parameters=[
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Items."),
                    _query(
                        "continue",
                        _STRING,
                        "Page through every entry: empty to start, then the last answer's.",
                    ),
                ],
            )
        },
        "/api/entries/{name}": {
            "get": _op(
                "One entry, from the Kubernetes API.",
                {
                    "200": _json("The entry.", _ENTRY),
                    "404": NOT_FOUND,
                    "502": CLUSTER,
                    "503": CLUSTER,
                },
                parameters=[_name_param],
            )
        },
        "/api/entries/{name}/proof": {
            "get": _op(
                "The entry's proof file (C2SP tlog-proof@v1), built from the published "
                "checkpoint; 404 until the entry is sealed into a published checkpoint.",
                {
                    "200": _typed("The proof file, as an attachment.", "text/plain"),
                    "404": NOT_FOUND,
                    "502": CLUSTER,
                    "503": _problem("The Kubernetes API or the ledger database is unavailable."),
                },
                parameters=[_name_param],
            )
        },
        "/api/verifiers": {
            "get": _op(
                "The ledger's origin, note verifier keys and witness policy (null without "
                "witnesses): what the browser verifies checkpoints with.",
                {
                    "200": _json(
                        "The keys and the policy.",
                        _object(
                            {
                                "ledger": _STRING,
                                "origin": {"type": ["string", "null"]},
                                "verifierKeys": _array(_STRING),
                                "witnessPolicy": {
                                    "type": ["object", "null"],
                                    "required": ["version", "quorum", "witnesses"],
                                    "properties": {
                                        "version": _INTEGER,
                                        "quorum": _INTEGER,
                                        "witnesses": _array(
                                            _object(
                                                {
                                                    "name": _STRING,
                                                    "verifierKey": _STRING,
                                                    "url": _STRING,
                                                },
                                                ["name", "verifierKey", "url"],
                                            )
                                        ),
                                    },
                                },
                            },
                            ["ledger", "origin", "verifierKeys", "witnessPolicy"],
                        ),
                    ),
                    **FROM_DATABASE,
                },
            )
        },
        "/api/checkpoints": {
            "get": _op(
                "The signed tree heads below a size, largest first, a page at a time; each "
                "checkpoint's note carries its stored cosignatures.",
                {
                    "200": _json(
                        "A page of the history.",
                        _object(
                            {
                                "ledger": _STRING,
                                "next": {"type": ["integer", "null"]},
                                "items": _array(
                                    _object(
                                        {
                                            "format": {"enum": ["checkpoint", "sth-json-v1"]},
                                            "treeSize": _INTEGER,
                                            "rootHash": _STRING,
                                            "timestamp": {"type": ["string", "null"]},
                                            "note": {"type": ["string", "null"]},
                                        },
                                        ["format", "treeSize", "rootHash", "timestamp", "note"],
                                    )
                                ),
                            },
                            ["ledger", "items", "next"],
                        ),
                    ),
                    "400": BAD_QUERY,
                    **FROM_DATABASE,
                },
                parameters=[
                    _query("below", _size, "Only tree heads of a size below this."),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                        "Tree heads per page (default 100).",
                    ),
                ],
            )
        },
        "/api/ledger": {
            "get": _op(
                "Tree size, root and the latest signed tree head.",
                {
                    "200": _json(
                        "The ledger.",
                        _object(
                            {
                                "ledger": _STRING,
                                "treeSize": _INTEGER,
                                "rootHash": {"type": ["string", "null"]},
                                "signedTreeHead": _tree_head_schema,
                            },
                            ["ledger", "treeSize", "rootHash", "signedTreeHead"],
                        ),
                    ),
                    **FROM_DATABASE,
                },
            )
        },
        "/api/proofs/inclusion": {
            "get": _op(
                "The inclusion proof of leaf index in the tree of size leaves.",
                {
                    "200": _json(
                        "The proof (hex hashes).",
                        _object(
                            {
                                "ledger": _STRING,
                                "leafIndex": _INTEGER,
                                "treeSize": _INTEGER,
                                "rootHash": _STRING,
                                "proof": _array(_STRING),
                                "signedTreeHead": _tree_head_schema,
                            },
                            ["leafIndex", "treeSize", "rootHash", "proof"],
                        ),
                    ),
                    "400": BAD_QUERY,
                    **FROM_DATABASE,
                },
                parameters=[
                    _query("index", _size, "Leaf index.", required=True),
                    _query(
                        "size", _size_or_latest, "Tree size (absent or empty: the latest signed)."
                    ),
                ],
            )
        },
        "/api/proofs/consistency": {
            "get": _op(
                "The consistency proof between the trees of from and to leaves.",
                {
                    "200": _json(
                        "The proof (hex hashes) and both roots.",
                        _object(
                            {
                                "ledger": _STRING,
                                "from": _INTEGER,
                                "to": _INTEGER,
                                "fromRootHash": _STRING,
                                "toRootHash": _STRING,
                                "proof": _array(_STRING),
                            },
                            ["from", "to", "fromRootHash", "toRootHash", "proof"],
                        ),
                    ),
                    "400": BAD_QUERY,
                    **FROM_DATABASE,
                },
                parameters=[
                    _query("from", _size, "The older size.", required=True),
                    _query(
                        "to",
                        _size_or_latest,
                        "The newer size (absent or empty: the latest signed).",
                    ),
                ],
            )
        },
        "/api/public-key": {
            "get": _op(
                "The Ed25519 key (PEM) that signed the latest head, or key keyId.",
                {
                    "200": _typed("The key.", "application/x-pem-file"),
                    **FROM_DATABASE,
                },
                parameters=[_query("keyId", _STRING, "Hex SHA-256 of the key.")],
            )
        },
        "/checkpoint": {
            "get": _op(
                "C2SP tlog-tiles: the latest published checkpoint (a signed note).",
                {"200": _typed("The note.", "text/plain"), **FROM_DATABASE},
            )
        },
        "/tile/{path}": {
            "get": _op(
                "C2SP tlog-tiles: a hash tile <L>/<N>[.p/<W>] or entries/<N>[.p/<W>].",
                {
                    "200": _typed("The tile.", "application/octet-stream"),
                    "400": _problem("Not a tile path."),
                    **FROM_DATABASE,
                },
                parameters=[
                    {
                        "name": "path",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": TILE_PATH},
                        "description": "The tile path after /tile/.",
                    }
                ],
            )
        },
        "/openapi.json": {
            "get": _op("This document.", {"200": _json("OpenAPI 3.1.", {"type": "object"})})
        },
        "/healthz": {
            "get": {
                "summary": "Liveness (never rate limited).",
                "responses": {"200": _json("Alive.", {"type": "object"})},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: the entries have been read (never rate limited).",
                "responses": {
                    "200": _json("Ready.", {"type": "object"}),
                    "503": _json("Not ready, and why.", {"type": "object"}),
                },
            }
        },
    },
    "components": {
        "schemas": {"Problem": _problem_schema, "Entry": _entry_schema},
    },
}


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT, headers={"Cache-Control": "public, max-age=60"})
