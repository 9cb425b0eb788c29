"""REST verbs on resources: get, list, create, update, patch, delete, deletecollection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from guestbook_devcluster import admission, conversion, errors, patches, wire
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.paths import Target
from guestbook_devcluster.registry import NAMESPACE_KEY, ResourceInfo
from guestbook_devcluster.representation import (
    convert_raw,
    decode_continue,
    encode_continue,
    render_list,
    render_object,
)
from guestbook_devcluster.selectors import combine, parse_field_selector, parse_label_selector

Obj = dict[str, Any]
_WRITE_TYPES = (wire.JSON, "application/yaml", wire.PROTOBUF)
_PATCH_TYPES = (wire.JSON_PATCH, wire.MERGE_PATCH, wire.STRATEGIC_PATCH, wire.APPLY_PATCH)


def _converted(ctx: ApiContext, info: ResourceInfo) -> bool:
    return conversion.needed(ctx.registry, info)


def respond(
    ctx: ApiContext,
    request: Request,
    info: ResourceInfo,
    obj: Obj,
    status: int = 200,
    warnings: list[str] | None = None,
) -> Response:
    if _converted(ctx, info):
        obj = conversion.from_storage(info, obj)
    obj["apiVersion"] = info.api_version
    obj["kind"] = info.kind
    accept = wire.parse_accept(request)
    body = render_object(
        info, orjson.dumps(obj), accept, request.query_params.get("includeObject", "Metadata")
    )
    headers = {}
    if warnings:
        headers["Warning"] = ", ".join(
            '299 - "' + _header_text(w).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for w in warnings
        )
    return wire.json_response(body, status, headers=headers)


def _header_text(text: str) -> str:
    """``text`` in printable ASCII, as a header value must be: other characters (from
    field names in the request, say) become Python-style escapes such as ``\\xe9``."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text
    )


def _dry_run(request: Request) -> bool:
    values = request.query_params.getlist("dryRun")
    for value in values:
        if value != "All":
            raise errors.bad_request(
                f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    return bool(values)


def _field_validation(request: Request) -> str:
    value = request.query_params.get("fieldValidation") or "Warn"
    if value not in ("Strict", "Warn", "Ignore"):
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{value}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    return value


def check_kind(info: ResourceInfo, obj: Any) -> Obj:
    """The body as an object of this resource; raises BadRequest when it is not one."""
    if not isinstance(obj, dict):
        raise errors.bad_request(
            f"the request body must be a {info.kind} object, not {type(obj).__name__}"
        )
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version not in (None, "") and api_version != info.api_version:
        raise errors.bad_request(
            f"the API version in the data ({api_version}) does not match the expected API "
            f"version ({info.api_version})"
        )
    if kind not in (None, "") and kind != info.kind:
        raise errors.bad_request(
            f"the kind in the data ({kind}) does not match the expected kind ({info.kind})"
        )
    obj["apiVersion"], obj["kind"] = info.api_version, info.kind
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    return obj


def _check_namespace_open(ctx: ApiContext, info: ResourceInfo, namespace: str, name: str) -> None:
    ns = ctx.storage.find(NAMESPACE_KEY, "", namespace)
    if ns is None:
        raise errors.not_found("namespaces", "", namespace)
    if "deletionTimestamp" in ns["metadata"]:
        raise errors.forbidden(
            f'{info.qualified} "{name}" is forbidden: unable to create new content in '
            f"namespace {namespace} because it is being terminated",
            name=name,
            group=info.group,
            kind=info.plural,
        )


# -- reads -------------------------------------------------------------------------


async def get(ctx: ApiContext, request: Request, target: Target) -> Response:
    info = target.info
    assert target.name is not None
    raw = ctx.storage.get_raw(info, target.namespace or "", target.name)
    raw = convert_raw(info, raw, _converted(ctx, info))
    body = render_object(
        info, raw, wire.parse_accept(request), request.query_params.get("includeObject", "Metadata")
    )
    return wire.json_response(body)


def list_predicate(info: ResourceInfo, params: Any) -> Callable[[Obj], bool] | None:
    """The selector predicate of a list or watch request (None: everything)."""
    label = params.get("labelSelector")
    field = params.get("fieldSelector")
    return combine(
        parse_label_selector(label) if label else None,
        parse_field_selector(field, info.field_labels) if field else None,
    )


async def list_(ctx: ApiContext, request: Request, target: Target) -> Response:
    info = target.info
    params = request.query_params
    predicate = list_predicate(info, params)
    try:
        limit = int(params.get("limit") or 0)
    except ValueError:
        raise errors.bad_request("limit must be a non-negative integer") from None
    token = params.get("continue")
    start = decode_continue(token)[1] if token else None
    items, rv = ctx.storage.list_raw(info, target.namespace, after=start)
    converted = _converted(ctx, info)
    next_token: str | None = None
    remaining: int | None = None
    if predicate is None:
        if limit > 0 and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
        if converted:
            items = [(k, convert_raw(info, raw, True)) for k, raw in items]
    else:
        # Scan only as far as the page needs; like the API server, a filtered
        # page carries no remainingItemCount.
        selected: list[tuple[tuple[str, str], bytes]] = []
        for key, raw in items:
            if converted:
                raw = convert_raw(info, raw, True)
            if predicate(orjson.loads(raw)):
                if limit > 0 and len(selected) == limit:
                    remaining = 0  # marks "more exist" for the token below
                    break
                selected.append((key, raw))
        items = selected
    if remaining is not None and items:
        last_ns, last_name = items[-1][0]
        next_token = encode_continue(rv, last_ns, last_name)
        if predicate is not None:
            remaining = None
    raws = [raw for _, raw in items]
    body = render_list(
        info,
        raws,
        wire.parse_accept(request),
        rv=rv,
        continue_token=next_token,
        remaining=remaining,
        include_object=params.get("includeObject", "Metadata"),
    )
    return wire.json_response(body)


# -- writes ------------------------------------------------------------------------


async def create(ctx: ApiContext, request: Request, target: Target) -> Response:
    info = target.info
    if target.subresource is not None:
        raise errors.method_not_allowed(
            f"POST is not supported on {info.plural}/{target.subresource}"
        )
    if info.namespaced and target.namespace is None:
        raise errors.ApiError(
            404,
            "NotFound",
            f"the server could not find the requested resource: {info.plural} "
            "are namespaced; POST to /namespaces/{namespace}/" + info.plural,
        )
    body = await wire.read_body(request, _WRITE_TYPES)
    dry_run = _dry_run(request)
    validation = _field_validation(request)
    obj = check_kind(info, body)
    return create_object(ctx, request, target, obj, dry_run=dry_run, validation=validation)


def create_object(
    ctx: ApiContext,
    request: Request,
    target: Target,
    obj: Obj,
    *,
    dry_run: bool,
    validation: str,
) -> Response:
    info = target.info
    meta = obj["metadata"]
    if info.namespaced:
        assert target.namespace is not None
        if meta.get("namespace") not in (None, "", target.namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = target.namespace
        _check_namespace_open(ctx, info, target.namespace, str(meta.get("name") or ""))
    else:
        meta.pop("namespace", None)
    if meta.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    obj, warnings = admission.prepare_create(info, obj, ctx.registry, field_validation=validation)
    if _converted(ctx, info):
        obj = conversion.to_storage(info, obj)
    preset = obj["metadata"].get("uid") if (info.group, info.plural) == ("batch", "jobs") else None
    created = ctx.storage.create(info, obj, dry_run=dry_run, uid=preset)
    return respond(ctx, request, info, created, 201, warnings)


def mutate_object(
    ctx: ApiContext,
    target: Target,
    compute: Callable[[Obj], Obj],
    *,
    dry_run: bool,
    validation: str,
    warnings: list[str],
    uid_precondition: str | None = None,
) -> Obj:
    """Apply ``compute`` to the current object and store it under the API's rules.

    ``uid_precondition`` (an update's ``metadata.uid``) must be the stored uid,
    else Conflict (409) before anything else is looked at, as in kube-apiserver.
    """
    info = target.info
    assert target.name is not None
    name = target.name

    converted = _converted(ctx, info)

    def change(current: Obj) -> Obj:
        stored_uid = current["metadata"]["uid"]
        if uid_precondition is not None and uid_precondition != stored_uid:
            raise errors.uid_precondition_failed(
                info.plural, info.group, name, uid_precondition, stored_uid
            )
        if converted:
            current = conversion.from_storage(info, current)
        snapshot = json_copy(current)
        new = check_kind(info, compute(current))
        meta = new["metadata"]
        if meta.get("name") not in (None, name):
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the "
                f"URL ({name})"
            )
        if info.namespaced and meta.get("namespace") not in (None, "", target.namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["name"] = name
        if target.subresource == "status":
            new, found = admission.prepare_status_update(
                info, new, snapshot, field_validation=validation
            )
        else:
            new, found = admission.prepare_update(
                info, new, snapshot, ctx.registry, field_validation=validation
            )
        warnings.extend(found)
        return conversion.to_storage(info, new) if converted else new

    return ctx.storage.mutate(info, target.namespace or "", name, change, dry_run=dry_run)


def _check_writable_subresource(target: Target) -> None:
    if target.subresource not in (None, "status"):
        raise errors.method_not_allowed(
            f"{target.info.plural}/{target.subresource} does not support this verb"
        )


async def update(ctx: ApiContext, request: Request, target: Target) -> Response:
    if target.subresource == "finalize":
        return await _finalize_namespace(ctx, request, target)
    _check_writable_subresource(target)
    info = target.info
    body = check_kind(info, await wire.read_body(request, _WRITE_TYPES))
    dry_run = _dry_run(request)
    validation = _field_validation(request)
    # A uid in the body is a precondition (rest.defaultUpdatedObjectInfo), also on /status.
    uid = body["metadata"].get("uid")
    uid_precondition = uid if isinstance(uid, str) and uid else None

    def replacement(current: Obj) -> Obj:
        # Checked after NotFound and the uid precondition, in kube-apiserver's order.
        if not body["metadata"].get("resourceVersion") and not info.allow_unconditional_update:
            raise errors.invalid(
                info.kind,
                info.group,
                target.name or "",
                [
                    {
                        "reason": "FieldValueInvalid",
                        "message": "Invalid value: 0: must be specified for an update",
                        "field": "metadata.resourceVersion",
                    }
                ],
            )
        return json_copy(body)

    warnings: list[str] = []
    try:
        result = mutate_object(
            ctx,
            target,
            replacement,
            dry_run=dry_run,
            validation=validation,
            warnings=warnings,
            uid_precondition=uid_precondition,
        )
    except errors.ApiError as exc:
        if exc.code != 404 or exc.kind != info.plural or uid_precondition is None:
            raise
        # The object is missing: kube-apiserver checks the precondition against an
        # empty object (no uid), so the answer is this Conflict, not NotFound.
        raise errors.uid_precondition_failed(
            info.plural, info.group, target.name or "", uid_precondition, ""
        ) from None
    return respond(ctx, request, info, result, 200, warnings)


async def _finalize_namespace(ctx: ApiContext, request: Request, target: Target) -> Response:
    """``PUT /api/v1/namespaces/{name}/finalize``: set ``spec.finalizers`` (only)."""
    info = target.info
    body = check_kind(info, await wire.read_body(request, _WRITE_TYPES))
    spec = body.get("spec")
    finalizers = (spec.get("finalizers") if isinstance(spec, dict) else None) or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        raise errors.bad_request("spec.finalizers must be a list of strings")
    assert target.name is not None

    def change(current: Obj) -> Obj:
        current.setdefault("spec", {})["finalizers"] = finalizers
        if not finalizers:
            current["spec"].pop("finalizers")
        current["metadata"]["resourceVersion"] = body["metadata"].get("resourceVersion")
        return current

    result = ctx.storage.mutate(info, "", target.name, change, dry_run=_dry_run(request))
    return respond(ctx, request, info, result)


async def patch(ctx: ApiContext, request: Request, target: Target) -> Response:
    _check_writable_subresource(target)
    info = target.info
    kind = wire.media_type(request)
    accepted = (
        _PATCH_TYPES
        if info.builtin
        else tuple(t for t in _PATCH_TYPES if t != wire.STRATEGIC_PATCH)
    )
    body = await wire.read_body(request, accepted)
    dry_run = _dry_run(request)
    validation = _field_validation(request)
    warnings: list[str] = []
    if kind == wire.APPLY_PATCH:
        from guestbook_devcluster import apply

        return await apply.server_side_apply(
            ctx, request, target, body, dry_run=dry_run, validation=validation
        )
    if kind == wire.JSON_PATCH:
        if not isinstance(body, list):
            raise errors.bad_request("a JSON patch must be a list of operations")
    elif not isinstance(body, dict):
        raise errors.bad_request("a merge patch must be a JSON object")

    def compute(current: Obj) -> Obj:
        try:
            if kind == wire.JSON_PATCH:
                result = patches.json_patch(current, body)
            elif kind == wire.MERGE_PATCH:
                result = patches.merge_patch(current, body)
            else:
                result = patches.strategic_merge_patch(current, body)
        except patches.PatchError as exc:
            if kind == wire.JSON_PATCH and "testing value" in str(exc):
                raise errors.ApiError(
                    422,
                    "Invalid",
                    f"the server rejected our request due to an error in our request: {exc}",
                ) from None
            raise errors.ApiError(422, "Invalid", f"the patch cannot be applied: {exc}") from None
        if not isinstance(result, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        return result

    result = mutate_object(
        ctx, target, compute, dry_run=dry_run, validation=validation, warnings=warnings
    )
    return respond(ctx, request, info, result, 200, warnings)


async def _delete_options(request: Request) -> Obj:
    raw = await request.body()
    options: Obj = {}
    if raw.strip():
        decoded = wire.decode(raw, wire.media_type(request) or wire.JSON)
        if not isinstance(decoded, dict):
            raise errors.bad_request("DeleteOptions must be a JSON object")
        options = decoded
    params = request.query_params
    if "propagationPolicy" in params:
        options["propagationPolicy"] = params["propagationPolicy"]
    if "gracePeriodSeconds" in params:
        try:
            options["gracePeriodSeconds"] = int(params["gracePeriodSeconds"])
        except ValueError:
            raise errors.bad_request("gracePeriodSeconds must be an integer") from None
    if "orphanDependents" in params:
        options["orphanDependents"] = params["orphanDependents"] == "true"
    if params.getlist("dryRun"):
        options["dryRun"] = params.getlist("dryRun")
    return options


def _propagation(options: Obj) -> str | None:
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is not None:
        policy = "Orphan" if options["orphanDependents"] else "Background"
    if policy not in (None, "Orphan", "Background", "Foreground"):
        raise errors.bad_request(
            f'propagationPolicy: Unsupported value: "{policy}": supported values: '
            '"Foreground", "Background", "Orphan"'
        )
    return policy  # type: ignore[no-any-return]


async def delete(ctx: ApiContext, request: Request, target: Target) -> Response:
    info = target.info
    if target.subresource is not None:
        raise errors.method_not_allowed(
            f"DELETE is not supported on {info.plural}/{target.subresource}"
        )
    assert target.name is not None
    options = await _delete_options(request)
    obj, gone = ctx.storage.delete(
        info,
        target.namespace or "",
        target.name,
        propagation=_propagation(options),
        preconditions=options.get("preconditions"),
        dry_run=bool(options.get("dryRun")),
        grace_period=_grace_period(options),
    )
    return respond(ctx, request, info, obj, 200 if gone else 202)


def _grace_period(options: Obj) -> int | None:
    value = options.get("gracePeriodSeconds")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.bad_request("gracePeriodSeconds must be an integer")
    return value


async def delete_collection(ctx: ApiContext, request: Request, target: Target) -> Response:
    info = target.info
    options = await _delete_options(request)
    predicate = list_predicate(info, request.query_params)
    items, _ = ctx.storage.list_raw(info, target.namespace)
    deleted: list[Obj] = []
    converted = _converted(ctx, info)
    for (namespace, name), raw in items:
        if predicate is not None and not predicate(orjson.loads(convert_raw(info, raw, converted))):
            continue
        try:
            obj, _ = ctx.storage.delete(
                info,
                namespace,
                name,
                propagation=_propagation(options),
                dry_run=bool(options.get("dryRun")),
            )
        except errors.ApiError as exc:
            if exc.code == 404:
                continue
            raise
        deleted.append(conversion.from_storage(info, obj) if converted else obj)
    body = {
        "kind": info.list_kind,
        "apiVersion": info.api_version,
        "metadata": {"resourceVersion": str(ctx.storage.resource_version)},
        "items": deleted,
    }
    return wire.json_response(body)
