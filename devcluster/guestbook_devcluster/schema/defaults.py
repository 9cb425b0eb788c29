"""Structural defaulting of custom resources, as kube-apiserver applies it.

A property's ``default`` is filled in when the property is missing from an
object that is present (defaults never create the parent object, unless the
parent itself has a default). A ``null`` in a non-nullable property with a
default is replaced by the default. Defaults are then defaulted themselves
(a defaulted ``{}`` gets its own properties' defaults), exactly as
``structuraldefaulting.Default`` recurses.
"""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.jsoncopy import json_copy
from guestbook_devcluster.schema import keywords
from guestbook_devcluster.schema.structural import Schema


def apply_defaults(schema: Schema, obj: object) -> object:
    """A copy of ``obj`` with the schema's defaults filled in; ``obj`` is not changed.

    Call it after :func:`guestbook_devcluster.schema.prune.prune` (pruning drops
    non-nullable nulls, which defaulting then fills) and before validation, as the
    apiserver does on every create and update.
    """
    result = json_copy(obj)
    _default(schema, result)
    return result


def _non_nullable_null(value: object, schema: object) -> bool:
    return (
        value is None
        and isinstance(schema, dict)
        and not schema.get("nullable")
        and "default" in schema
    )


def _default(schema: object, value: object) -> None:
    if not isinstance(schema, dict) or not keywords.uses(schema, "default"):
        return
    if isinstance(value, dict):
        _default_object(schema, value)
    elif isinstance(value, list):
        items = schema.get("items")
        for index, item in enumerate(value):
            if _non_nullable_null(item, items):
                assert isinstance(items, dict)
                value[index] = json_copy(items["default"])
            _default(items, value[index])


def _default_object(schema: dict[str, Any], value: dict[str, Any]) -> None:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    for key, prop in properties.items():
        if not isinstance(prop, dict) or "default" not in prop:
            continue
        if key not in value or _non_nullable_null(value[key], prop):
            value[key] = json_copy(prop["default"])
    additional = schema.get("additionalProperties")
    for key in list(value):
        prop = properties.get(key)
        if prop is not None:
            _default(prop, value[key])
        elif isinstance(additional, dict):
            if _non_nullable_null(value[key], additional):
                value[key] = json_copy(additional["default"])
            _default(additional, value[key])
