"""Validation of JSON values against a CRD's structural ``openAPIV3Schema``.

Mirrors what kube-apiserver does for custom resources: the kube-openapi schema
validator (types, required, enum, lengths, bounds, pattern, format, item and
property counts), then the ``x-kubernetes-list-type`` uniqueness checks. Every
violation is reported, in that order, worded as the apiserver words it.

``x-kubernetes-validations`` (CEL) rules are evaluated separately by
:func:`guestbook_devcluster.schema.rules.evaluate_rules`.

Schemas are plain dicts as they appear in a CRD (already parsed from YAML or
JSON); values are what ``json.loads`` returns.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final

import orjson

from guestbook_devcluster.schema import keywords
from guestbook_devcluster.schema.errors import OMIT, FieldError

Schema = dict[str, Any]


def json_type(value: object) -> str:
    """The JSON Schema type name of a decoded JSON value (``"null"`` for None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def child_path(path: str, key: str) -> str:
    """``spec`` + ``message`` -> ``spec.message`` (the root's children have no dot)."""
    return f"{path}.{key}" if path else key


def index_path(path: str, index: int) -> str:
    """``spec.items`` + 2 -> ``spec.items[2]``."""
    return f"{path}[{index}]"


def shown_path(path: str) -> str:
    """The path as Go prints it; the object itself is ``<nil>``."""
    return path or "<nil>"


class _NoOld:
    """Marker: no old value corresponds to this place (create, or a new field)."""

    def __repr__(self) -> str:
        return "NO_OLD"


NO_OLD: Final = _NoOld()


def validate(
    schema: Schema, obj: object, path: str = "", *, old: object = NO_OLD
) -> list[FieldError]:
    """Every way ``obj`` violates ``schema``, as field errors (empty when valid).

    ``path`` is the JSON path of ``obj`` inside the object being validated ("" for
    the whole object). On update pass the stored object as ``old``: values that
    are unchanged from it are not validated again (validation ratcheting, on by
    default since Kubernetes 1.30), so tightening a CRD never blocks status
    updates of existing objects. Values correlate by property name and by the
    keys of ``x-kubernetes-list-type: map`` lists (set items by value).

    Never raises for any JSON value; a schema keyword with an unusable value (a
    pattern that does not compile) is ignored rather than failing every write.
    """
    errors: list[FieldError] = []
    _validate_node(schema, obj, path, errors, old)
    _validate_list_types(schema, obj, path, errors, old)
    return errors


def same_json(a: object, b: object) -> bool:
    """JSON equality: 1 equals 1.0, but true is not 1 and key order does not matter."""
    # Python's == (in C) decides most cases at once: it differs from JSON equality
    # only where true == 1 or false == 0, so unequal values are never the same JSON,
    # and equal values whose canonical serialisations match are. Only equal values
    # that serialise differently (1 and 1.0, true and 1) take the exact walk.
    if a != b:
        return False
    if isinstance(a, dict | list):
        try:
            if orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
                b, option=orjson.OPT_SORT_KEYS
            ):
                return True
        except TypeError:  # an integer beyond 64 bits: decide by walking
            pass
    return _same_json_walk(a, b)


def _same_json_walk(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(_same_json_walk(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same_json_walk, a, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _unchanged(value: object, old: object) -> bool:
    return old is not NO_OLD and same_json(value, old)


def correlate_items(schema: Schema, value: list[Any], old: object) -> list[object]:
    """For each item of ``value``, its old counterpart or NO_OLD.

    Map lists correlate by their keys, set lists by value; items of other lists
    have no counterpart (Kubernetes does not correlate them by index).
    """
    result: list[object] = [NO_OLD] * len(value)
    if not isinstance(old, list):
        return result
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        for index, item in enumerate(value):
            if any(same_json(item, candidate) for candidate in old):
                result[index] = item
    elif list_type == "map":
        keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]

        def identity(item: object) -> object:
            if not isinstance(item, dict) or not keys:
                return None
            return _identity({k: item.get(k) for k in keys})

        by_key = {}
        for item in old:
            ident = identity(item)
            if ident is not None:
                by_key[ident] = item
        for index, item in enumerate(value):
            ident = identity(item)
            if ident is not None and ident in by_key:
                result[index] = by_key[ident]
    return result


def _allowed_types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    declared = schema.get("type")
    if isinstance(declared, str) and declared:
        return [declared]
    if isinstance(declared, list):
        return [str(t) for t in declared]
    return []


def _type_matches(allowed: list[str], value: object) -> bool:
    actual = json_type(value)
    if actual in allowed:
        return True
    # JSON has one number type: 3.0 is an integer and 3 is a number (go-openapi's
    # isFloatInt / isIntFloat).
    if actual == "number" and "integer" in allowed:
        return isinstance(value, float) and value.is_integer()
    return actual == "integer" and "number" in allowed


def _validate_node(
    schema: Schema, value: object, path: str, errors: list[FieldError], old: object
) -> None:
    if not isinstance(schema, dict) or _unchanged(value, old):
        return
    allowed = _allowed_types(schema)
    if value is None:
        if allowed and not schema.get("nullable") and "null" not in allowed:
            _type_error(path, ",".join(allowed), "null", errors)
        return
    if allowed and not _type_matches(allowed, value):
        _type_error(path, ",".join(allowed), json_type(value), errors)
        return
    if "integer" in allowed and "number" not in allowed and not _fits_int64(value):
        # 9.3e18 is integral, so it passes the type check, but no int64 holds it.
        detail = f"{path} in body must be a 64-bit integer, between {INT64_MIN} and {INT64_MAX}"
        _invalid(path, value, detail, errors)
        return
    for sub in schema.get("allOf") or []:
        _validate_node(sub, value, path, errors, old)
    if isinstance(value, str):
        _validate_string(schema, value, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(schema, value, path, errors)
    elif isinstance(value, list):
        _validate_array(schema, value, path, errors, old)
    _validate_enum(schema, value, path, errors)
    if isinstance(value, dict):
        _validate_object(schema, value, path, errors, old)


INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def _fits_int64(value: object) -> bool:
    """False only for a JSON number outside the int64 range (other values: True)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    return INT64_MIN <= value <= INT64_MAX


def _type_error(path: str, expected: str, actual: str, errors: list[FieldError]) -> None:
    detail = f"{path} in body must be of type {expected}: {json.dumps(actual)}"
    errors.append(FieldError(shown_path(path), "FieldValueTypeInvalid", detail, actual))


def _invalid(path: str, value: object, detail: str, errors: list[FieldError]) -> None:
    errors.append(FieldError(shown_path(path), "FieldValueInvalid", detail, value))


def _validate_string(schema: Schema, value: str, path: str, errors: list[FieldError]) -> None:
    length = len(value)  # code points, as go-openapi counts runes
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and length > max_length:
        unit = "byte" if max_length == 1 else "bytes"
        errors.append(
            FieldError(
                shown_path(path),
                "FieldValueTooLong",
                f"may not be more than {max_length} {unit}",
                OMIT,
            )
        )
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and length < min_length:
        _invalid(path, value, f"{path} in body should be at least {min_length} chars long", errors)
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        compiled = _compile_pattern(pattern)
        if compiled is not None and compiled.search(value) is None:
            _invalid(path, value, f"{path} in body should match '{pattern}'", errors)
    fmt = schema.get("format")
    if isinstance(fmt, str):
        check = _FORMAT_CHECKS.get(fmt)
        if check is not None and not check(value):
            detail = (
                f"{path} in body must be of type {fmt}: {json.dumps(value, ensure_ascii=False)}"
            )
            errors.append(FieldError(shown_path(path), "FieldValueTypeInvalid", detail, value))


@functools.lru_cache(maxsize=1024)
def _compile_pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _go_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _validate_number(schema: Schema, value: float, path: str, errors: list[FieldError]) -> None:
    maximum = schema.get("maximum")
    if isinstance(maximum, int | float) and not isinstance(maximum, bool):
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > maximum or (exclusive and value == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            detail = f"{path} in body should be {relation} {_go_number(maximum)}"
            _invalid(path, value, detail, errors)
    minimum = schema.get("minimum")
    if isinstance(minimum, int | float) and not isinstance(minimum, bool):
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < minimum or (exclusive and value == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            detail = f"{path} in body should be {relation} {_go_number(minimum)}"
            _invalid(path, value, detail, errors)
    multiple = schema.get("multipleOf")
    if isinstance(multiple, int | float) and not isinstance(multiple, bool) and multiple > 0:
        quotient = value / multiple
        if not float(quotient).is_integer():
            detail = f"{path} in body should be a multiple of {_go_number(multiple)}"
            _invalid(path, value, detail, errors)


def _validate_array(
    schema: Schema, value: list[Any], path: str, errors: list[FieldError], old: object
) -> None:
    items = schema.get("items")
    if isinstance(items, dict):
        olds = correlate_items(schema, value, old)
        for index, item in enumerate(value):
            _validate_node(items, item, index_path(path, index), errors, olds[index])
    min_items = schema.get("minItems")
    if isinstance(min_items, int) and len(value) < min_items:
        _invalid(path, len(value), f"{path} in body should have at least {min_items} items", errors)
    max_items = schema.get("maxItems")
    if isinstance(max_items, int) and len(value) > max_items:
        noun = "item" if max_items == 1 else "items"
        errors.append(
            FieldError(
                shown_path(path),
                "FieldValueTooMany",
                f"must have at most {max_items} {noun}",
                len(value),
            )
        )
    if schema.get("uniqueItems") and len({_canonical(v) for v in value}) < len(value):
        _invalid(path, OMIT, f"{path} in body shouldn't contain duplicates", errors)


def _validate_enum(schema: Schema, value: object, path: str, errors: list[FieldError]) -> None:
    enum = schema.get("enum")
    if not isinstance(enum, list):
        return
    if isinstance(value, str):
        # A string is JSON-equal only to the same string (and == never equates a
        # string with another type), so membership decides without serialising.
        if value in enum:
            return
    elif any(_json_equal(value, allowed) for allowed in enum):
        return
    shown = ", ".join(
        json.dumps(a if isinstance(a, str) else _canonical(a), ensure_ascii=False) for a in enum
    )
    errors.append(
        FieldError(shown_path(path), "FieldValueNotSupported", f"supported values: {shown}", value)
    )


def _validate_object(
    schema: Schema, value: dict[str, Any], path: str, errors: list[FieldError], old: object
) -> None:
    old_map = old if isinstance(old, dict) else {}
    max_props = schema.get("maxProperties")
    if isinstance(max_props, int) and len(value) > max_props:
        noun = "item" if max_props == 1 else "items"
        errors.append(
            FieldError(
                shown_path(path),
                "FieldValueTooMany",
                f"must have at most {max_props} {noun}",
                len(value),
            )
        )
    min_props = schema.get("minProperties")
    if isinstance(min_props, int) and len(value) < min_props:
        detail = f"{path} in body should have at least {min_props} properties"
        _invalid(path, min_props, detail, errors)
    for key in schema.get("required") or []:
        if isinstance(key, str) and key not in value:
            errors.append(FieldError(child_path(path, key), "FieldValueRequired", "", OMIT))
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        sub = properties.get(key)
        old_item = old_map.get(key, NO_OLD)
        if sub is not None:
            _validate_node(sub, item, child_path(path, key), errors, old_item)
        elif isinstance(additional, dict):
            _validate_node(additional, item, child_path(path, key), errors, old_item)
        elif additional is False and not schema.get("x-kubernetes-preserve-unknown-fields"):
            detail = f"{path or '.'}.{key} in body is a forbidden property"
            _invalid(path, key, detail, errors)


def _canonical(value: object) -> str:
    """A string equal for equal JSON values (1 and 1.0 alike, key order ignored)."""

    def normalise(v: object) -> object:
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: normalise(x) for k, x in v.items()}
        if isinstance(v, list):
            return [normalise(x) for x in v]
        return v

    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _identity(keys: dict[str, Any]) -> object:
    """A hashable value, equal for map-list items with equal keys: the (name, value)
    pairs when all values are strings or null (the usual case, no serialising),
    else the canonical JSON of ``keys``. The two forms never equal each other."""
    if all(v is None or isinstance(v, str) for v in keys.values()):
        return tuple(keys.items())
    return _canonical(keys)


def _json_equal(a: object, b: object) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return _canonical(a) == _canonical(b)


# --- x-kubernetes-list-type -------------------------------------------------


def _validate_list_types(
    schema: Schema, value: object, path: str, errors: list[FieldError], old: object
) -> None:
    """Duplicate checks of ``set`` and ``map`` lists, after the schema checks (as Kubernetes)."""
    if (
        not isinstance(schema, dict)
        or not keywords.uses(schema, "x-kubernetes-list-type")
        or _unchanged(value, old)
    ):
        return
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            _check_set(value, path, errors)
        elif list_type == "map":
            _check_map_list(schema, value, path, errors)
        items = schema.get("items")
        if isinstance(items, dict):
            olds = correlate_items(schema, value, old)
            for index, item in enumerate(value):
                _validate_list_types(items, item, index_path(path, index), errors, olds[index])
    elif isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        additional = schema.get("additionalProperties")
        old_map = old if isinstance(old, dict) else {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is not None:
                item_path = child_path(path, key)
                _validate_list_types(sub, item, item_path, errors, old_map.get(key, NO_OLD))


def _check_set(value: list[Any], path: str, errors: list[FieldError]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(value):
        key = _canonical(item)
        if key in seen:
            errors.append(FieldError(index_path(path, index), "FieldValueDuplicate", "", item))
        seen.add(key)


def _check_map_list(schema: Schema, value: list[Any], path: str, errors: list[FieldError]) -> None:
    keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    items = schema.get("items")
    item_props = items.get("properties", {}) if isinstance(items, dict) else {}
    seen: set[object] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        identity: dict[str, Any] = {}
        for key in keys:
            if key in item:
                identity[key] = item[key]
            elif isinstance(item_props.get(key), dict) and "default" in item_props[key]:
                # A defaulted key is implicitly present.
                identity[key] = item_props[key]["default"]
        marker = _identity(identity)
        if marker in seen:
            errors.append(FieldError(index_path(path, index), "FieldValueDuplicate", "", identity))
        seen.add(marker)


# --- string formats -----------------------------------------------------------

_DATE_TIME: Final = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_HOSTNAME_LABEL: Final = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _is_date_time(value: str) -> bool:
    if not _DATE_TIME.match(value):
        return False
    text = value.replace(" ", "T").replace("t", "T").replace("z", "Z").replace("Z", "+00:00")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _is_byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _is_ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _is_hostname(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return 0 < len(value) <= 253 and all(_HOSTNAME_LABEL.match(label) for label in labels)


# The string formats kube-apiserver checks; any other format is documentation only.
_FORMAT_CHECKS: Final[dict[str, Callable[[str], bool]]] = {
    "date-time": _is_date_time,
    "datetime": _is_date_time,
    "date": _is_date,
    "uuid": _is_uuid,
    "byte": _is_byte,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "hostname": _is_hostname,
}
