"""Server-side apply (``application/apply-patch+yaml``), enough for ``kubectl apply --server-side``.

The applied configuration creates the object when it is missing, otherwise
it is merged into the live object (strategic merge for built-in kinds,
recursive merge with lists replaced for custom resources), and fields the
same manager applied before but no longer applies are removed
(``managed_fields.py``). Fields written by other means are not tracked and
there are no apply conflicts: the last applier wins.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from guestbook_devcluster import errors, handlers, patches
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.managed_fields import apply_ownership
from guestbook_devcluster.paths import Target
from guestbook_devcluster.storage import now_rfc3339

Obj = dict[str, Any]


def _deep_merge(live: Any, applied: Any) -> Any:
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = _deep_merge(live.get(key), value)
        return merged
    return applied


async def server_side_apply(
    ctx: ApiContext,
    request: Request,
    target: Target,
    body: Any,
    *,
    dry_run: bool,
    validation: str,
) -> Response:
    """Create or update the object at ``target`` from an applied configuration."""
    info = target.info
    if not request.query_params.get("fieldManager"):
        raise errors.invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value: is required for apply patch",
                    "field": "fieldManager",
                }
            ],
        )
    intent = handlers.check_kind(info, body)
    assert target.name is not None
    if intent["metadata"].get("name") not in (None, target.name):
        raise errors.bad_request(
            f"the name of the object ({intent['metadata'].get('name')}) does not match the "
            f"name on the URL ({target.name})"
        )
    intent["metadata"]["name"] = target.name
    manager = request.query_params["fieldManager"]
    existing = ctx.storage.find(info.key, target.namespace or "", target.name)
    if existing is None:
        if target.subresource is not None:
            raise errors.not_found(info.plural, info.group, target.name)
        created = json_copy(intent)
        created["metadata"]["managedFields"] = apply_ownership(
            {}, intent, manager, info.api_version, now_rfc3339(), merge_keys=info.builtin
        )
        return handlers.create_object(
            ctx, request, target, created, dry_run=dry_run, validation=validation
        )

    def compute(current: Obj) -> Obj:
        if info.builtin:
            try:
                merged = patches.strategic_merge_patch(current, intent)
            except patches.PatchError as exc:
                raise errors.bad_request(f"the applied configuration is malformed: {exc}") from None
        else:
            merged = _deep_merge(current, intent)
        assert isinstance(merged, dict)
        merged.setdefault("metadata", {})["managedFields"] = apply_ownership(
            merged, intent, manager, info.api_version, now_rfc3339(), merge_keys=info.builtin
        )
        return merged

    warnings: list[str] = []
    result = handlers.mutate_object(
        ctx, target, compute, dry_run=dry_run, validation=validation, warnings=warnings
    )
    return handlers.respond(ctx, request, info, result, 200, warnings)
