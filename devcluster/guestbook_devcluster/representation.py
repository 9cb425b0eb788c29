"""How stored objects are shown: version conversion, lists, Tables, metadata-only."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from guestbook_devcluster import conversion, errors, schema_seam
from guestbook_devcluster.registry import ResourceInfo
from guestbook_devcluster.wire import Accept

Obj = dict[str, Any]


def convert_raw(info: ResourceInfo, raw: bytes, needed: bool) -> bytes:
    """The stored object as a client of ``info``'s version sees it."""
    if not needed:
        return raw
    return orjson.dumps(conversion.from_storage(info, orjson.loads(raw)))


def partial_metadata(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def encode_continue(rv: int, namespace: str, name: str) -> str:
    token = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "ns": namespace, "name": name})
    return base64.urlsafe_b64encode(token).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """The list position a continue token encodes; raises BadRequest for a bad token."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request(
            "continue key is not valid: pass the `continue` value of the previous list "
            "response unchanged"
        ) from None


def table_columns(info: ResourceInfo) -> list[dict[str, Any]]:
    if info.builtin:
        return schema_seam.builtin_columns(info.kind)
    return list(info.printer_columns)


def render_list(
    info: ResourceInfo,
    raws: list[bytes],
    accept: Accept,
    *,
    rv: int,
    continue_token: str | None,
    remaining: int | None,
    include_object: str,
) -> bytes:
    """The list response body in the representation the client accepts."""
    if accept.table:
        objects = [orjson.loads(r) for r in raws]
        table = schema_seam.to_table(
            table_columns(info),
            objects,
            include_object=include_object,
            resource_version=str(rv),
            continue_token=continue_token,
        )
        if remaining is not None:
            table["metadata"]["remainingItemCount"] = remaining
        return orjson.dumps(table)
    meta: Obj = {"resourceVersion": str(rv)}
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    if accept.partial_metadata:
        items = [partial_metadata(orjson.loads(r)) for r in raws]
        return orjson.dumps(
            {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": items,
            }
        )
    head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
    return head[:-1] + b',"items":[' + b",".join(raws) + b"]}"


def render_object(info: ResourceInfo, raw: bytes, accept: Accept, include_object: str) -> bytes:
    """A single object in the representation the client accepts."""
    if accept.table:
        obj = orjson.loads(raw)
        table = schema_seam.to_table(
            table_columns(info),
            [obj],
            include_object=include_object,
            resource_version=str(obj.get("metadata", {}).get("resourceVersion", "")),
            continue_token=None,
        )
        return orjson.dumps(table)
    if accept.partial_metadata:
        return orjson.dumps(partial_metadata(orjson.loads(raw)))
    return raw
