"""Encoding on the wire: request bodies in, JSON (and Tables) out, Accept headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from guestbook_devcluster import errors

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


class JSONBytes(Response):
    """A response whose body is already-encoded JSON."""

    media_type = JSON


def json_response(
    body: Any,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    media_type: str = JSON,
) -> Response:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(data, status_code=status, headers=headers, media_type=media_type)


def status_response(error: errors.ApiError) -> Response:
    headers = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(error.retry_after)
    return json_response(error.status(), error.code, headers=headers)


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, accepted: tuple[str, ...]) -> Any:
    """The decoded request body; raises UnsupportedMediaType or BadRequest."""
    kind = media_type(request) or JSON  # clients such as pykube send no Content-Type
    try:
        raw = await request.body()
    except ClientDisconnect:
        # The client went away mid-body (a controller stopping): nothing is stored,
        # and the answer nobody reads is a plain Status rather than a logged traceback.
        raise errors.bad_request("the client disconnected before sending the whole body") from None
    if kind not in accepted:
        raise errors.unsupported_media_type(kind, list(accepted))
    return decode(raw, kind)


def decode(raw: bytes, kind: str) -> Any:
    """Parse ``raw`` as JSON (or YAML for YAML media types); raises BadRequest."""
    if not raw.strip():
        raise errors.bad_request("the request body is empty: send a JSON object")
    if kind == PROTOBUF:
        from guestbook_devcluster import protobuf

        return protobuf.decode(raw)
    if "yaml" in kind:
        try:
            loaded = yaml.safe_load(raw)
            # Only what JSON can say: YAML dates become strings, huge integers fail.
            return orjson.loads(orjson.dumps(loaded))
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"the request body is not valid YAML: {exc}") from None
        except TypeError as exc:
            raise errors.bad_request(
                f"the request body is not representable as JSON: {exc}"
            ) from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(
            f"the request body is not valid JSON ({exc}); send a JSON object"
        ) from None


@dataclass(frozen=True)
class Accept:
    """What representation the client asked for."""

    table: bool = False
    partial_metadata: bool = False
    aggregated_discovery: bool = False


def parse_accept(request: Request) -> Accept:
    """Honour the Accept alternatives kubectl and client-go send, first acceptable wins."""
    header = request.headers.get("accept", "")
    for alternative in header.split(","):
        parts = [p.strip() for p in alternative.split(";")]
        base = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if base not in ("application/json", "*/*", "application/*"):
            continue
        as_ = params.get("as")
        group = params.get("g")
        version = params.get("v")
        if as_ is None:
            return Accept()
        if as_ == "Table" and group == "meta.k8s.io" and version in ("v1", "v1beta1"):
            return Accept(table=True)
        if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and group == "meta.k8s.io":
            return Accept(partial_metadata=True)
        if as_ == "APIGroupDiscoveryList" and group == "apidiscovery.k8s.io" and version == "v2":
            return Accept(aggregated_discovery=True)
    return Accept()
