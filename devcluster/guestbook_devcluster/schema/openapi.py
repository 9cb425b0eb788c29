"""OpenAPI documents of what the server serves: ``/openapi/v3`` and ``/openapi/v2``.

kubectl 1.32 reads ``/openapi/v3`` (an index of group-versions) and then one
document per group-version. It uses them to

- decide where validation happens: when the PATCH operation of a kind lists
  the ``fieldValidation`` query parameter, kubectl leaves validation to the
  server and sends ``fieldValidation=Strict`` (no ``--validate=false`` needed);
- explain fields (``kubectl explain guestbookentry.spec``): the schema whose
  ``x-kubernetes-group-version-kind`` names the kind, with its descriptions;
- compute strategic merge patches, but only for kinds whose PATCH operation
  accepts ``application/strategic-merge-patch+json``. Built-in kinds do not
  advertise it here, so kubectl falls back to the patch metadata compiled into
  it (exactly Kubernetes' own); see decision 0035.

The functions here are pure; :func:`serve` adapts them to the server's
registry and HTTP request.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from guestbook_devcluster.schema.builtin_openapi import (
    API_VERSION_DESCRIPTION,
    KIND_DESCRIPTION,
    META,
    OBJECT_META_DESCRIPTION,
    builtin_schemas,
    definition_name,
    ref,
)

Schema = dict[str, Any]

ALL_VERBS: Final = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
KUBERNETES_VERSION: Final = "v1.32.0"

_PATCH_TYPES: Final = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
)
_FIELD_VALIDATION: Final = {
    "name": "fieldValidation",
    "in": "query",
    "description": "fieldValidation instructs the server on how to handle objects in the request "
    "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn "
    "(the default) - Strict",
    "schema": {"type": "string", "uniqueItems": True},
}
_DRY_RUN: Final = {
    "name": "dryRun",
    "in": "query",
    "description": "When present, indicates that modifications should not be persisted.",
    "schema": {"type": "string", "uniqueItems": True},
}
_FIELD_MANAGER: Final = {
    "name": "fieldManager",
    "in": "query",
    "description": "fieldManager is a name associated with the actor or entity that is making "
    "these changes.",
    "schema": {"type": "string", "uniqueItems": True},
}


@dataclass(frozen=True)
class KindSchema:
    """One served kind in one version, as the OpenAPI documents describe it.

    ``openAPIV3Schema`` is the CRD version's schema (None for built-in kinds,
    whose schemas come from :mod:`builtin_openapi`); ``description`` defaults to
    the schema's own.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    openAPIV3Schema: Schema | None = None  # the CRD field's name
    description: str = ""
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    builtin: bool = False

    @property
    def definition(self) -> str:
        return definition_name(self.group, self.version, self.kind)

    @property
    def gvk(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind, "version": self.version}


def group_version_path(group: str, version: str) -> str:
    """``api/v1`` for the core group, ``apis/<group>/<version>`` otherwise."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def document_hash(document: Schema) -> str:
    """The hash kube-apiserver puts in ``serverRelativeURL`` (upper-case hex SHA-512)."""
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(encoded).hexdigest().upper()


def openapi_v3_index(group_versions: dict[str, Schema]) -> Schema:
    """The ``/openapi/v3`` index of per-group-version documents.

    ``group_versions`` maps ``group_version_path`` keys to their documents; each
    URL carries the document's hash, so clients caching by URL (kubectl does)
    refetch exactly when a document changed.
    """
    return {
        "paths": {
            path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={document_hash(document)}"}
            for path, document in sorted(group_versions.items())
        }
    }


def crd_kind_schema(kind: KindSchema) -> Schema:
    """The published schema of a custom resource kind.

    The CRD's schema with apiVersion, kind and metadata documented like every
    Kubernetes object, and the GVK extension kubectl looks for.
    """
    schema: Schema = copy.deepcopy(kind.openAPIV3Schema) if kind.openAPIV3Schema else {}
    schema.setdefault("type", "object")
    properties = schema.setdefault("properties", {})
    if not properties.get("apiVersion", {}).get("description"):
        properties["apiVersion"] = {"type": "string", "description": API_VERSION_DESCRIPTION}
    if not properties.get("kind", {}).get("description"):
        properties["kind"] = {"type": "string", "description": KIND_DESCRIPTION}
    properties["metadata"] = ref(f"{META}.ObjectMeta", OBJECT_META_DESCRIPTION)
    if kind.description:
        schema["description"] = kind.description
    schema["x-kubernetes-group-version-kind"] = [kind.gvk]
    return schema


def _list_schema(kind: KindSchema) -> Schema:
    return {
        "type": "object",
        "description": f"{kind.kind}List is a list of {kind.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DESCRIPTION},
            "kind": {"type": "string", "description": KIND_DESCRIPTION},
            "metadata": ref(f"{META}.ListMeta", "Standard list metadata."),
            "items": {
                "type": "array",
                "description": f"List of {kind.plural}.",
                "items": ref(kind.definition),
            },
        },
        "x-kubernetes-group-version-kind": [{**kind.gvk, "kind": f"{kind.kind}List"}],
    }


_SUPPORT: Final[dict[str, Schema]] = {
    f"{META}.ListMeta": {
        "type": "object",
        "description": "ListMeta describes metadata that synthetic resources must have.",
        "properties": {
            "resourceVersion": {"type": "string", "description": "The list's resourceVersion."},
            "continue": {"type": "string", "description": "Token for the next page."},
            "remainingItemCount": {"type": "integer", "format": "int64"},
        },
    },
    f"{META}.Status": {
        "type": "object",
        "description": "Status is a return value for calls that don't return other objects.",
        "x-kubernetes-preserve-unknown-fields": True,
    },
    f"{META}.Patch": {
        "type": "object",
        "description": "Patch is provided to give a concrete name and type to the Kubernetes "
        "PATCH request body.",
    },
}


def _refs(value: object) -> Iterable[str]:
    if isinstance(value, dict):
        target = value.get("$ref")
        if isinstance(target, str) and target.startswith("#/components/schemas/"):
            yield target.removeprefix("#/components/schemas/")
        for child in value.values():
            yield from _refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from _refs(child)


def _with_dependencies(schemas: dict[str, Schema], library: dict[str, Schema]) -> None:
    """Add every definition ``schemas`` refer to, transitively, from ``library``."""
    pending = [name for schema in list(schemas.values()) for name in _refs(schema)]
    while pending:
        name = pending.pop()
        if name in schemas or name not in library:
            continue
        schemas[name] = copy.deepcopy(library[name])
        pending.extend(_refs(schemas[name]))


def _kind_definitions(kinds: list[KindSchema]) -> dict[str, Schema]:
    library = {**builtin_schemas(), **_SUPPORT}
    schemas: dict[str, Schema] = {}
    for kind in kinds:
        if kind.builtin or kind.openAPIV3Schema is None:
            found = library.get(kind.definition)
            schemas[kind.definition] = copy.deepcopy(found) if found else _permissive(kind)
        else:
            schemas[kind.definition] = crd_kind_schema(kind)
        schemas[f"{kind.definition}List"] = _list_schema(kind)
    schemas.update(copy.deepcopy(_SUPPORT))
    _with_dependencies(schemas, library)
    return dict(sorted(schemas.items()))


def _permissive(kind: KindSchema) -> Schema:
    schema = crd_kind_schema(kind)
    schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


def _response(definition: str, *, code: str = "200") -> Schema:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{definition}"}}}
    return {code: {"description": "OK", "content": content}}


def _operation(kind: KindSchema, action: str, verb_text: str, definition: str) -> Schema:
    scope = "Namespaced" if kind.namespaced else ""
    operation: Schema = {
        "tags": [group_version_path(kind.group, kind.version).replace("/", "_")],
        "description": f"{verb_text} {kind.kind}",
        "operationId": f"{action}{scope}{kind.kind}",
        "responses": _response(definition),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": kind.gvk,
    }
    if action in ("post", "put", "patch"):
        operation["parameters"] = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
    if action in ("post", "put"):
        body = {"schema": {"$ref": f"#/components/schemas/{kind.definition}"}}
        operation["requestBody"] = {"content": {"application/json": body}, "required": True}
    if action == "patch":
        patch = {"schema": {"$ref": f"#/components/schemas/{META}.Patch"}}
        operation["requestBody"] = {
            "content": {media: patch for media in _PATCH_TYPES},
            "required": True,
        }
    return operation


def _paths(kind: KindSchema) -> dict[str, Schema]:
    base = "/" + group_version_path(kind.group, kind.version)
    collection = (
        f"{base}/namespaces/{{namespace}}/{kind.plural}"
        if kind.namespaced
        else f"{base}/{kind.plural}"
    )
    item = f"{collection}/{{name}}"
    definition, list_definition = kind.definition, f"{kind.definition}List"
    paths: dict[str, Schema] = {}
    ops: Schema = {}
    if "list" in kind.verbs:
        ops["get"] = _operation(kind, "list", "list or watch objects of kind", list_definition)
    if "create" in kind.verbs:
        ops["post"] = _operation(kind, "post", "create a", definition)
    paths[collection] = ops
    ops = {}
    if "get" in kind.verbs:
        ops["get"] = _operation(kind, "get", "read the specified", definition)
    if "update" in kind.verbs:
        ops["put"] = _operation(kind, "put", "replace the specified", definition)
    if "patch" in kind.verbs:
        ops["patch"] = _operation(kind, "patch", "partially update the specified", definition)
    if "delete" in kind.verbs:
        ops["delete"] = _operation(kind, "delete", "delete a", f"{META}.Status")
    paths[item] = ops
    for sub in kind.subresources:
        if sub not in ("status", "scale"):
            continue
        paths[f"{item}/{sub}"] = {
            "get": _operation(kind, "get", f"read {sub} of the specified", definition),
            "put": _operation(kind, "put", f"replace {sub} of the specified", definition),
            "patch": _operation(
                kind, "patch", f"partially update {sub} of the specified", definition
            ),
        }
    if kind.namespaced and "list" in kind.verbs:
        paths[f"{base}/{kind.plural}"] = {
            "get": _operation(kind, "list", "list or watch objects of kind", list_definition)
        }
    return paths


def openapi_v3_document(group: str, version: str, kinds: list[KindSchema]) -> Schema:
    """The OpenAPI 3.0 document of one group-version (``/openapi/v3/apis/<g>/<v>``).

    ``kinds`` are the kinds served in that group-version; kinds of other
    group-versions in the list are ignored.
    """
    mine = [k for k in kinds if k.group == group and k.version == version]
    paths: dict[str, Schema] = {}
    for kind in sorted(mine, key=lambda k: k.plural):
        paths.update(_paths(kind))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "components": {"schemas": _kind_definitions(mine)},
    }


def _to_v2(value: object) -> object:
    """A v3 schema fragment in Swagger 2.0 form (refs to ``#/definitions``)."""
    if isinstance(value, dict):
        converted = {k: _to_v2(v) for k, v in value.items() if k != "nullable"}
        target = converted.get("$ref")
        if isinstance(target, str):
            converted["$ref"] = target.replace("#/components/schemas/", "#/definitions/")
        all_of = converted.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
            # Swagger 2.0 has no siblings of $ref; Kubernetes publishes the bare $ref.
            description = converted.pop("description", None)
            converted.pop("allOf")
            converted.update(all_of[0])
            if description and "$ref" not in converted:
                converted["description"] = description
        return converted
    if isinstance(value, list):
        return [_to_v2(v) for v in value]
    return value


def openapi_v2(kinds: list[KindSchema]) -> Schema:
    """The Swagger 2.0 document of every served kind (``/openapi/v2`` as JSON)."""
    definitions = _kind_definitions(kinds)
    paths: dict[str, Schema] = {}
    for kind in sorted(kinds, key=lambda k: (k.group, k.version, k.plural)):
        for path, ops in _paths(kind).items():
            converted: Schema = {}
            for method, op in ops.items():
                v2op = {k: v for k, v in op.items() if k not in ("requestBody", "responses")}
                v2op["consumes"] = list(op.get("requestBody", {}).get("content", {"*/*": {}}))
                v2op["produces"] = ["application/json", "application/yaml"]
                v2op["parameters"] = [
                    {k: v for k, v in p.items() if k != "schema"} | {"type": "string"}
                    for p in op.get("parameters", [])
                ]
                target = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                v2op["responses"] = {"200": {"description": "OK", "schema": {"$ref": target}}}
                converted[method] = _to_v2(v2op)
            paths[path] = converted
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": _to_v2(definitions),
    }


PROTOBUF_V2: Final = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# What kube-apiserver answers with: "@" is not a valid media type character, and
# Go's mime parser in kubectl refuses a response labelled with the requested type.
PROTOBUF_V2_RESPONSE: Final = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _proto_field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2); payloads here are < 128 bytes."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def openapi_v2_protobuf() -> bytes:
    """``/openapi/v2`` as kubectl asks for it: a gnostic OpenAPI v2 Document, without kinds.

    kubectl falls back to it where v3 does not serve its purpose — client-side
    validation of ``kind: List`` files and strategic-merge metadata. A document
    that names no kinds makes kubectl skip its own validation (the server
    validates with ``fieldValidation=Strict``) and use its compiled-in patch
    metadata, instead of failing (decision 0035).
    """
    info = _proto_field(1, b"Kubernetes") + _proto_field(2, KUBERNETES_VERSION.encode())
    return _proto_field(1, b"2.0") + _proto_field(2, info)


# --- the HTTP edge ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Documents:
    index: Schema
    by_path: dict[str, Schema]
    v2: Schema


_CACHE: dict[tuple[int, int], _Documents] = {}


def kinds_of(resources: Iterable[Any]) -> list[KindSchema]:
    """KindSchemas of the server registry's ``ResourceInfo`` objects."""
    kinds = []
    for info in resources:
        schema = info.schema if isinstance(info.schema, dict) else None
        description = str((schema or {}).get("description", ""))
        kinds.append(
            KindSchema(
                group=info.group,
                version=info.version,
                kind=info.kind,
                plural=info.plural,
                namespaced=info.namespaced,
                openAPIV3Schema=schema,
                description=description,
                subresources=tuple(info.subresources),
                verbs=tuple(info.verbs),
                builtin=bool(info.builtin),
            )
        )
    return kinds


def documents_for(kinds: list[KindSchema]) -> tuple[Schema, dict[str, Schema], Schema]:
    """The v3 index, the v3 documents by group-version path, and the v2 document."""
    by_path: dict[str, Schema] = {}
    for group, version in sorted({(k.group, k.version) for k in kinds}):
        by_path[group_version_path(group, version)] = openapi_v3_document(group, version, kinds)
    return openapi_v3_index(by_path), by_path, openapi_v2(kinds)


def _documents(registry: Any) -> _Documents:
    key = (id(registry), int(getattr(registry, "generation", 0)))
    found = _CACHE.get(key)
    if found is None:
        index, by_path, v2 = documents_for(kinds_of(registry.all()))
        found = _Documents(index, by_path, v2)
        _CACHE.clear()  # only the registry's current state is ever asked for
        _CACHE[key] = found
    return found


async def serve(registry: Any, request: Any) -> Any:
    """Answer ``GET /openapi/v3``, ``/openapi/v3/<group-version>`` and ``/openapi/v2``.

    ``registry`` is the server's Registry (``all()`` and ``generation``);
    ``request`` a Starlette request. Unknown paths are 404 NotFound; ``/openapi/v2``
    is JSON, or the kind-less protobuf document for kubectl (other media types 406).
    """
    from guestbook_devcluster import errors, wire

    if request.method not in ("GET", "HEAD"):
        raise errors.method_not_allowed()
    documents = _documents(registry)
    rest = str(request.path_params.get("rest", "")).strip("/")
    if rest == "v3":
        return wire.json_response(documents.index)
    if rest.startswith("v3/"):
        document = documents.by_path.get(rest.removeprefix("v3/"))
        if document is not None:
            return wire.json_response(document)
    if rest == "v2":
        accept = request.headers.get("accept", "")
        if not accept or "json" in accept or "*/*" in accept:
            return wire.json_response(documents.v2)
        if PROTOBUF_V2 in accept:
            return wire.json_response(openapi_v2_protobuf(), media_type=PROTOBUF_V2_RESPONSE)
        raise errors.not_acceptable("/openapi/v2 is served as application/json")
    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
