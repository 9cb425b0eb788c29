"""Pruning of unknown fields, and the unknown-field report of strict field validation.

kube-apiserver drops every field of a custom resource that its structural
schema does not specify, unless the field's enclosing schema says
``x-kubernetes-preserve-unknown-fields: true``. ``apiVersion``, ``kind`` and
``metadata`` of the object (and of embedded resources,
``x-kubernetes-embedded-resource: true``) are never pruned by the schema;
``metadata`` keeps only ObjectMeta's fields. A ``null`` in a property that is not
``nullable`` is dropped too (since Kubernetes 1.20), so that its default applies.

With ``fieldValidation=Strict`` the apiserver refuses what pruning would drop
instead: :func:`unknown_fields` lists those fields as the error names them.
"""

from __future__ import annotations

from typing import Any, Final

from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.schema.structural import Schema, child_path, index_path

# Fields of metav1.ObjectMeta; anything else under metadata is unknown.
OBJECT_META_FIELDS: Final = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)

_RESOURCE_KEYS: Final = ("apiVersion", "kind", "metadata")


def prune(schema: Schema, obj: object) -> object:
    """A copy of ``obj`` without the fields ``schema`` does not specify.

    ``obj`` is a whole custom resource (its root keeps apiVersion, kind and
    metadata). ``obj`` itself is not changed.
    """
    result = json_copy(obj)
    _walk(schema, result, "", root=True, unknown=None)
    return result


def prune_and_report(schema: Schema, obj: object) -> tuple[object, list[str]]:
    """:func:`prune` and :func:`unknown_fields` in one copy and one walk (a write's
    admission needs both); ``obj`` is not changed."""
    found: list[str] = []
    result = json_copy(obj)
    _walk(schema, result, "", root=True, unknown=found)
    return result, found


def unknown_fields(schema: Schema, obj: object) -> list[str]:
    """Paths of the fields pruning would drop, e.g. ``["spec.foo", "metadata.bar"]``.

    The server answers ``fieldValidation=Strict`` writes that have any with
    400 BadRequest ``strict decoding error: unknown field "spec.foo", ...``, and
    ``Warn`` writes with one ``Warning`` header per field. Nulls dropped for
    non-nullable properties are not unknown fields.
    """
    found: list[str] = []
    _walk(schema, json_copy(obj), "", root=True, unknown=found)
    return found


def strict_decoding_message(fields: list[str], kind: str = "", version: str = "") -> str:
    """The BadRequest message kube-apiserver gives for unknown fields in a Strict write.

    With ``kind`` and ``version`` it is prefixed as the apiserver prefixes it:
    ``GuestbookEntry in version "v1alpha1" cannot be handled as a GuestbookEntry: ...``.
    """
    message = "strict decoding error: " + ", ".join(f'unknown field "{f}"' for f in fields)
    if kind and version:
        return f'{kind} in version "{version}" cannot be handled as a {kind}: {message}'
    return message


def _walk(
    schema: object, value: object, path: str, *, root: bool, unknown: list[str] | None
) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        _walk_object(schema, value, path, root=root, unknown=unknown)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                _walk(items, item, index_path(path, index), root=False, unknown=unknown)


def _walk_object(
    schema: dict[str, Any],
    value: dict[str, Any],
    path: str,
    *,
    root: bool,
    unknown: list[str] | None,
) -> None:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    resource = root or bool(schema.get("x-kubernetes-embedded-resource"))
    for key in list(value):
        item = value[key]
        item_path = child_path(path, key)
        if resource and key in _RESOURCE_KEYS:
            if key == "metadata" and isinstance(item, dict):
                _prune_metadata(item, item_path, unknown)
            continue
        prop = properties.get(key)
        if prop is None and isinstance(additional, dict):
            prop = additional
        if prop is None:
            if not preserve and additional is not True:
                if unknown is not None:
                    unknown.append(item_path)
                del value[key]
            continue
        if item is None and isinstance(prop, dict) and not prop.get("nullable"):
            del value[key]
            continue
        _walk(prop, item, item_path, root=False, unknown=unknown)


def _prune_metadata(metadata: dict[str, Any], path: str, unknown: list[str] | None) -> None:
    for key in list(metadata):
        if key not in OBJECT_META_FIELDS:
            if unknown is not None:
                unknown.append(child_path(path, key))
            del metadata[key]
