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

_problem_schema: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string"},
                    "parameter": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
_entry_schema: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace", "uid", "createdAt", "spec", "status"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "uid": {"type": "string"},
        "createdAt": {"type": "string"},
        "spec": {
            "type": "object",
            "properties": {
                "ledger": {"type": "string"},
                "author": {"type": "string"},
                "message": {"type": "string"},
            },
        },
        "status": {"type": "object"},
    },
}
_tree_head_schema: dict[str, Any] = {"type": ["object", "null"]}
_retry_after = {"Retry-After": {"schema": {"type": "string"}}}


def _problem(description: str, *, retry: bool = False, html: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if html:
        content[HTML] = {"schema": {"type": "string"}}
    answer: dict[str, Any] = {"description": description, "content": content}
    if retry:
        answer["headers"] = _retry_after
    return answer


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _typed(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


RATE_LIMITED = _problem("Too many requests from this client; wait Retry-After seconds.", retry=True)
CLUSTER = _problem("The Kubernetes API is unavailable or refused (a sentence says why).")
DATABASE = _problem("The ledger database is not configured or unavailable.")
BAD_QUERY = _problem("A query parameter is malformed (errors name it).")
NOT_FOUND = _problem("Nothing there (the detail says what to check).")


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
_submission = {
    "type": "object",
    "properties": {
        "author": {"type": ["string", "null"], "maxLength": 64},
        "message": {"type": "string", "minLength": 1, "maxLength": 2000},
    },
    "required": ["message"],
}
_name_param = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
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
                    "201": {
                        **_json("The entry as created.", {"$ref": "#/components/schemas/Entry"}),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "303": {
                        "description": "Signed; the page shows the entry.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
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
                        {
                            "type": "object",
                            "required": ["namespace", "ledger", "items"],
                            "properties": {
                                "namespace": {"type": "string"},
                                "ledger": {"type": "string"},
                                "items": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Entry"},
                                },
                                "continue": {"type": ["string", "null"]},
                            },
                        },
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
                        {"type": "string"},
                        "Page through every entry: empty to start, then the last answer's.",
                    ),
                ],
            )
        },
        "/api/entries/{name}": {
            "get": _op(
                "One entry, from the Kubernetes API.",
                {
                    "200": _json("The entry.", {"$ref": "#/components/schemas/Entry"}),
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
                        {
                            "type": "object",
                            "required": ["ledger", "origin", "verifierKeys", "witnessPolicy"],
                            "properties": {
                                "ledger": {"type": "string"},
                                "origin": {"type": ["string", "null"]},
                                "verifierKeys": {"type": "array", "items": {"type": "string"}},
                                "witnessPolicy": {
                                    "type": ["object", "null"],
                                    "required": ["version", "quorum", "witnesses"],
                                    "properties": {
                                        "version": {"type": "integer"},
                                        "quorum": {"type": "integer"},
                                        "witnesses": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["name", "verifierKey", "url"],
                                                "properties": {
                                                    "name": {"type": "string"},
                                                    "verifierKey": {"type": "string"},
                                                    "url": {"type": "string"},
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    "404": NOT_FOUND,
                    "503": DATABASE,
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
                        {
                            "type": "object",
                            "required": ["ledger", "items", "next"],
                            "properties": {
                                "ledger": {"type": "string"},
                                "next": {"type": ["integer", "null"]},
                                "items": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "format",
                                            "treeSize",
                                            "rootHash",
                                            "timestamp",
                                            "note",
                                        ],
                                        "properties": {
                                            "format": {"enum": ["checkpoint", "sth-json-v1"]},
                                            "treeSize": {"type": "integer"},
                                            "rootHash": {"type": "string"},
                                            "timestamp": {"type": ["string", "null"]},
                                            "note": {"type": ["string", "null"]},
                                        },
                                    },
                                },
                            },
                        },
                    ),
                    "400": BAD_QUERY,
                    "404": NOT_FOUND,
                    "503": DATABASE,
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
                        {
                            "type": "object",
                            "required": ["ledger", "treeSize", "rootHash", "signedTreeHead"],
                            "properties": {
                                "ledger": {"type": "string"},
                                "treeSize": {"type": "integer"},
                                "rootHash": {"type": ["string", "null"]},
                                "signedTreeHead": _tree_head_schema,
                            },
                        },
                    ),
                    "404": NOT_FOUND,
                    "503": DATABASE,
                },
            )
        },
        "/api/proofs/inclusion": {
            "get": _op(
                "The inclusion proof of leaf index in the tree of size leaves.",
                {
                    "200": _json(
                        "The proof (hex hashes).",
                        {
                            "type": "object",
                            "required": ["leafIndex", "treeSize", "rootHash", "proof"],
                            "properties": {
                                "ledger": {"type": "string"},
                                "leafIndex": {"type": "integer"},
                                "treeSize": {"type": "integer"},
                                "rootHash": {"type": "string"},
                                "proof": {"type": "array", "items": {"type": "string"}},
                                "signedTreeHead": _tree_head_schema,
                            },
                        },
                    ),
                    "400": BAD_QUERY,
                    "404": NOT_FOUND,
                    "503": DATABASE,
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
                        {
                            "type": "object",
                            "required": ["from", "to", "fromRootHash", "toRootHash", "proof"],
                            "properties": {
                                "ledger": {"type": "string"},
                                "from": {"type": "integer"},
                                "to": {"type": "integer"},
                                "fromRootHash": {"type": "string"},
                                "toRootHash": {"type": "string"},
                                "proof": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    ),
                    "400": BAD_QUERY,
                    "404": NOT_FOUND,
                    "503": DATABASE,
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
                    "404": NOT_FOUND,
                    "503": DATABASE,
                },
                parameters=[_query("keyId", {"type": "string"}, "Hex SHA-256 of the key.")],
            )
        },
        "/checkpoint": {
            "get": _op(
                "C2SP tlog-tiles: the latest published checkpoint (a signed note).",
                {
                    "200": _typed("The note.", "text/plain"),
                    "404": NOT_FOUND,
                    "503": DATABASE,
                },
            )
        },
        "/tile/{path}": {
            "get": _op(
                "C2SP tlog-tiles: a hash tile <L>/<N>[.p/<W>] or entries/<N>[.p/<W>].",
                {
                    "200": _typed("The tile.", "application/octet-stream"),
                    "400": _problem("Not a tile path."),
                    "404": NOT_FOUND,
                    "503": DATABASE,
                },
                parameters=[
                    {
                        "name": "path",
                        "in": "path",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": TILE_PATH,
                        },
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
