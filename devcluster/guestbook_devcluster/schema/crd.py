"""Checks of a CustomResourceDefinition's schemas before it is served.

kube-apiserver refuses a CRD whose versions lack a structural schema, whose
defaults do not validate against their own schema, whose CEL rules do not
compile or whose printer columns are not JSONPaths. Checking here means a bad
CRD is a 422 at ``kubectl apply`` time, instead of every later write of its
resources failing in a puzzling way.
"""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.schema.errors import FieldError
from guestbook_devcluster.schema.jsonpath import JSONPathError, parse
from guestbook_devcluster.schema.rules import rule_compile_errors
from guestbook_devcluster.schema.structural import index_path, validate

_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})


def crd_schema_errors(crd: dict[str, Any]) -> list[FieldError]:
    """Every problem of the served versions' schemas and printer columns.

    ``crd`` is an apiextensions.k8s.io/v1 CustomResourceDefinition as submitted;
    shapes this function does not understand (no ``spec.versions`` list) give no
    errors here, since the server's own CRD checks report them.
    """
    spec = crd.get("spec")
    versions = spec.get("versions") if isinstance(spec, dict) else None
    if not isinstance(versions, list):
        return []
    errors: list[FieldError] = []
    for number, version in enumerate(versions):
        if not isinstance(version, dict):
            continue
        where = index_path("spec.versions", number)
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        schema_path = f"{where}.schema.openAPIV3Schema"
        if not isinstance(schema, dict):
            errors.append(FieldError(schema_path, "FieldValueRequired", "schemas are required"))
        else:
            errors.extend(_root_errors(schema, schema_path))
            errors.extend(_node_errors(schema, schema_path))
            errors.extend(rule_compile_errors(schema, schema_path))
        errors.extend(_column_errors(version.get("additionalPrinterColumns"), where))
    return errors


def _root_errors(schema: dict[str, Any], path: str) -> list[FieldError]:
    kind = schema.get("type")
    if not kind:
        return [FieldError(f"{path}.type", "FieldValueRequired", "must not be empty at the root")]
    if kind != "object":
        return [FieldError(f"{path}.type", "FieldValueInvalid", "must be object at the root", kind)]
    return []


def _node_errors(schema: object, path: str) -> list[FieldError]:
    if not isinstance(schema, dict):
        return []
    errors: list[FieldError] = []
    kind = schema.get("type")
    free = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
        "x-kubernetes-int-or-string"
    )
    if kind and kind not in _TYPES:
        supported = ", ".join(f'"{t}"' for t in sorted(_TYPES))
        errors.append(
            FieldError(
                f"{path}.type", "FieldValueNotSupported", f"supported values: {supported}", kind
            )
        )
    if not kind and not free and ("properties" in schema or "items" in schema):
        errors.append(
            FieldError(
                f"{path}.type",
                "FieldValueRequired",
                "must not be empty for specified object fields",
            )
        )
    if kind == "array" and not isinstance(schema.get("items"), dict):
        errors.append(
            FieldError(f"{path}.items", "FieldValueRequired", "must be specified for arrays")
        )
    if "default" in schema:
        for problem in validate(schema, schema["default"], f"{path}.default"):
            errors.append(problem)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            errors.extend(_node_errors(sub, f"{path}.properties[{key}]"))
    errors.extend(_node_errors(schema.get("items"), f"{path}.items"))
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        errors.extend(_node_errors(additional, f"{path}.additionalProperties"))
    return errors


def _column_errors(columns: object, where: str) -> list[FieldError]:
    if not isinstance(columns, list):
        return []
    errors: list[FieldError] = []
    for number, column in enumerate(columns):
        column_path = index_path(f"{where}.additionalPrinterColumns", number)
        if not isinstance(column, dict):
            continue
        for key in ("name", "type", "jsonPath"):
            if not column.get(key):
                errors.append(FieldError(f"{column_path}.{key}", "FieldValueRequired", ""))
        path = column.get("jsonPath")
        if isinstance(path, str) and path:
            try:
                parse(path)
            except JSONPathError:
                errors.append(
                    FieldError(
                        f"{column_path}.jsonPath",
                        "FieldValueInvalid",
                        "must be a simple json path starting with .",
                        path,
                    )
                )
        kind = column.get("type")
        if kind and kind not in ("integer", "number", "string", "boolean", "date"):
            errors.append(
                FieldError(
                    f"{column_path}.type",
                    "FieldValueNotSupported",
                    'supported values: "boolean", "date", "integer", "number", "string"',
                    kind,
                )
            )
    return errors
