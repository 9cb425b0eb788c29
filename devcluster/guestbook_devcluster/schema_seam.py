"""The calls into ``guestbook_devcluster.schema`` the server makes, in one place.

Schema modules that are not present in this checkout (they are built in
parallel) are looked up lazily; a missing one means "no such checks".
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from guestbook_devcluster.schema import (
    builtin_openapi,
    defaults,
    keywords,
    prune,
    rules,
    structural,
    tables,
)
from guestbook_devcluster.schema import crd as crd_checks
from guestbook_devcluster.schema.errors import FieldError


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"guestbook_devcluster.schema.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"guestbook_devcluster.schema.{name}":
            raise
        return None


def freeze(schema: dict[str, Any]) -> None:
    """Promise that ``schema`` (a registered CRD's) is never changed, so the checks
    below may cache what its nodes ask for."""
    keywords.freeze(schema)


def prune_object(schema: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    result = prune.prune(schema, obj)
    assert isinstance(result, dict)
    return result


def prune_and_report(
    schema: dict[str, Any], obj: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    result, unknown = prune.prune_and_report(schema, obj)
    assert isinstance(result, dict)
    return result, unknown


def unknown_fields(schema: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    return prune.unknown_fields(schema, obj)


def strict_message(fields: list[str], kind: str = "", version: str = "") -> str:
    return prune.strict_decoding_message(fields, kind, version)


def builtin_schema(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The (shared, read-only) object schema of a built-in kind, or None."""
    return builtin_openapi.builtin_object_schema(group, version, kind)


def crd_schema_errors(crd: dict[str, Any]) -> list[FieldError]:
    """Problems of a CRD's version schemas and printer columns (refused with 422)."""
    return crd_checks.crd_schema_errors(crd)


def default_object(schema: dict[str, Any], obj: dict[str, Any]) -> dict[str, Any]:
    result = defaults.apply_defaults(schema, obj)
    assert isinstance(result, dict)
    return result


def validate(
    schema: dict[str, Any], obj: dict[str, Any], old: dict[str, Any] | None = None
) -> list[FieldError]:
    """Structural errors; on update (``old`` given) unchanged values are ratcheted."""
    if old is None:
        return structural.validate(schema, obj)
    return structural.validate(schema, obj, old=old)


def evaluate_rules(
    schema: dict[str, Any], new: dict[str, Any], old: dict[str, Any] | None
) -> list[FieldError]:
    return rules.evaluate_rules(schema, new, old)


def to_table(
    columns: list[dict[str, Any]],
    objects: list[dict[str, Any]],
    *,
    include_object: str,
    resource_version: str,
    continue_token: str | None,
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of ``objects``."""
    return tables.to_table(
        columns,
        objects,
        include_object=include_object,
        resource_version=resource_version,
        continue_token=continue_token,
    )


def builtin_columns(kind: str) -> list[dict[str, Any]]:
    """The columns kube-apiserver prints for a built-in kind."""
    return tables.default_columns(kind)


def openapi_module() -> ModuleType | None:
    return _optional("openapi")
