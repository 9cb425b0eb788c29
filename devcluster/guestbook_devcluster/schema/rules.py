"""``x-kubernetes-validations``: CEL rules of a CRD schema, evaluated like kube-apiserver.

Each rule is evaluated at the schema node that declares it, with ``self`` bound
to the value at that node. Transition rules (those that mention ``oldSelf``)
run only on updates and only where the old object has a value at the same
place; other rules are not re-checked on values an update leaves unchanged
(validation ratcheting, as Kubernetes 1.30+ does). Old values correlate by
property name and, in ``x-kubernetes-list-type: map`` lists, by the items'
keys; nothing below other lists correlates. Values absent from
the object are not checked (``required`` does that).

JSON values become CEL values by their schema type, as in Kubernetes: an
``integer`` is an int, a ``number`` a double even when written ``10``, a
``string`` with format ``byte`` bytes, ``date``/``datetime`` a timestamp,
``duration`` a duration; property names that are not CEL identifiers are
escaped (``foo-bar`` is ``self.foo__dash__bar``).

The evaluator is cel-python (decision 0031); compiled programs are cached by
rule text, since the server evaluates rules on every write.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Final

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

from guestbook_devcluster.schema import keywords
from guestbook_devcluster.schema.errors import OMIT, FieldError
from guestbook_devcluster.schema.structural import (
    Schema,
    child_path,
    index_path,
    json_type,
    same_json,
    shown_path,
)

_OLD_SELF: Final = re.compile(r"\boldSelf\b")
_IMMUTABLE: Final = re.compile(r"^\s*(self\s*==\s*oldSelf|oldSelf\s*==\s*self)\s*$")
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CEL_RESERVED: Final = frozenset(
    {
        "true", "false", "null", "in", "as", "break", "const", "continue", "else",
        "for", "function", "if", "import", "let", "loop", "package", "namespace",
        "return", "var", "void", "while",
    }
)  # fmt: skip
_REASONS: Final = frozenset(
    {"FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"}
)

_ENVIRONMENT: Final = celpy.Environment()


class RuleCompileError(ValueError):
    """A rule is not a valid CEL expression; the message says where."""


@dataclass(frozen=True)
class _Compiled:
    program: Any
    uses_old_self: bool


@functools.lru_cache(maxsize=4096)
def compile_rule(rule: str) -> _Compiled:
    """The compiled program of a CEL expression (cached by its text).

    Raises RuleCompileError when the expression does not parse.
    """
    try:
        ast = _ENVIRONMENT.compile(rule)
        program = _ENVIRONMENT.program(ast)
    except Exception as error:  # cel-python raises several types for bad syntax
        raise RuleCompileError(f"compilation failed: {_first_line(str(error))}") from error
    return _Compiled(program, bool(_OLD_SELF.search(rule)))


def rule_compile_errors(schema: Schema, path: str = "") -> list[FieldError]:
    """Errors for every rule of ``schema`` that does not compile (checked at CRD creation).

    ``path`` names where the schema sits in the CRD, e.g.
    ``spec.versions[0].schema.openAPIV3Schema``.
    """
    errors: list[FieldError] = []
    _collect_compile_errors(schema, path, errors)
    return errors


def _collect_compile_errors(schema: object, path: str, errors: list[FieldError]) -> None:
    if not isinstance(schema, dict):
        return
    rules = schema.get("x-kubernetes-validations")
    if isinstance(rules, list):
        for index, rule in enumerate(rules):
            text = rule.get("rule") if isinstance(rule, dict) else None
            where = index_path(child_path(path, "x-kubernetes-validations"), index)
            if not isinstance(text, str) or not text.strip():
                errors.append(FieldError(child_path(where, "rule"), "FieldValueRequired", ""))
                continue
            try:
                compile_rule(text)
            except RuleCompileError as error:
                errors.append(
                    FieldError(child_path(where, "rule"), "FieldValueInvalid", str(error), text)
                )
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for key, sub in properties.items():
            # Kubernetes names schema nodes properties[name] in CRD errors.
            _collect_compile_errors(sub, f"{child_path(path, 'properties')}[{key}]", errors)
    for key in ("items", "additionalProperties"):
        _collect_compile_errors(schema.get(key), child_path(path, key), errors)


def evaluate_rules(schema: Schema, new_obj: object, old_obj: object | None) -> list[FieldError]:
    """Every failed ``x-kubernetes-validations`` rule of ``schema`` for ``new_obj``.

    ``old_obj`` is the stored object on update, None on create (then transition
    rules are skipped). Never raises: a rule that does not compile or fails to
    evaluate is reported as a field error, as the apiserver does.
    """
    errors: list[FieldError] = []
    _visit(schema, new_obj, old_obj, old_obj is not None, "", True, errors)
    return errors


def _visit(
    schema: object,
    value: object,
    old: object,
    has_old: bool,
    path: str,
    root: bool,
    errors: list[FieldError],
) -> None:
    if (
        not isinstance(schema, dict)
        or value is None
        or not keywords.uses(schema, "x-kubernetes-validations")
    ):
        return
    rules = schema.get("x-kubernetes-validations")
    if isinstance(rules, list) and rules:
        _check_node(schema, rules, value, old, has_old, path, root, errors)
    if isinstance(value, dict):
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        additional = schema.get("additionalProperties")
        old_map = old if has_old and isinstance(old, dict) else {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None or (root and key in ("apiVersion", "kind", "metadata")):
                continue
            _visit(
                sub, item, old_map.get(key), key in old_map, child_path(path, key), False, errors
            )
    elif isinstance(value, list):
        items = schema.get("items")
        old_items = _correlate_list(schema, value, old if has_old else None)
        for index, item in enumerate(value):
            found, old_item = old_items[index]
            _visit(items, item, old_item, found, index_path(path, index), False, errors)


def _correlate_list(
    schema: dict[str, Any], value: list[Any], old: object
) -> list[tuple[bool, object]]:
    """For each new item, the old item it corresponds to (map lists only)."""
    pairs: list[tuple[bool, object]] = [(False, None)] * len(value)
    keys = schema.get("x-kubernetes-list-map-keys")
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list) or not keys:
        return pairs

    def identity(item: object) -> tuple[object, ...] | None:
        if not isinstance(item, dict):
            return None
        return tuple(repr(item.get(k)) for k in keys)

    by_key = {identity(item): item for item in old if identity(item) is not None}
    for index, item in enumerate(value):
        ident = identity(item)
        if ident is not None and ident in by_key:
            pairs[index] = (True, by_key[ident])
    return pairs


def _check_node(
    schema: dict[str, Any],
    rules: list[Any],
    value: object,
    old: object,
    has_old: bool,
    path: str,
    root: bool,
    errors: list[FieldError],
) -> None:
    cel_self: Any = None
    cel_old: Any = None
    schema_type = str(schema.get("type") or json_type(value))
    unchanged = has_old and same_json(value, old)
    for rule in rules:
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
            continue
        text: str = rule["rule"]
        if unchanged and _IMMUTABLE.match(text):
            continue  # an unchanged value equals its old self; spare the CEL round trip
        where = _error_path(path, rule.get("fieldPath"))
        try:
            compiled = compile_rule(text)
        except RuleCompileError as error:
            errors.append(FieldError(where, "FieldValueInvalid", str(error), schema_type))
            continue
        if compiled.uses_old_self and not has_old:
            continue
        if unchanged and not compiled.uses_old_self:
            continue  # validation ratcheting: an unchanged value is not checked again
        if cel_self is None:
            cel_self = to_cel(schema, value, root=root)
        activation: dict[str, Any] = {"self": cel_self}
        if compiled.uses_old_self:
            if cel_old is None:
                cel_old = to_cel(schema, old, root=root)
            activation["oldSelf"] = cel_old
        outcome = _run(compiled.program, activation)
        if isinstance(outcome, _Failure):
            detail = f"{outcome.text} evaluating rule: {_rule_error_string(rule)}"
            errors.append(FieldError(shown_path(path), "FieldValueInvalid", detail, schema_type))
            continue
        if outcome is True:
            continue
        detail = _message(rule, activation)
        errors.append(_error_for_reason(where, rule.get("reason"), detail, schema_type))


class _Failure:
    def __init__(self, text: str) -> None:
        self.text = text


def _run(program: Any, activation: dict[str, Any]) -> bool | str | _Failure:
    try:
        result = program.evaluate(activation)
    except Exception as error:  # cel-python raises CELEvalError and plain TypeErrors
        return _Failure(_describe_eval_error(error))
    if isinstance(result, Exception):
        return _Failure(_describe_eval_error(result))
    if isinstance(result, celtypes.BoolType):
        return bool(result)
    if isinstance(result, str):
        return str(result)
    return _Failure(f"rule returned {type(result).__name__} instead of a bool")


_NO_SUCH_MEMBER: Final = re.compile(r"no such member in mapping: '([^']*)'")


def _describe_eval_error(error: BaseException) -> str:
    text = str(error.args[0]) if error.args else str(error)
    missing = _NO_SUCH_MEMBER.search(text)
    if missing:
        return f"no such key: {missing.group(1)}"
    if "no matching overload" in text or "no such overload" in text:
        return "no such overload"
    return _first_line(text)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


def _rule_error_string(rule: dict[str, Any]) -> str:
    message = rule.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    return str(rule["rule"]).strip()


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    expression = rule.get("messageExpression")
    if isinstance(expression, str) and expression.strip():
        try:
            compiled = compile_rule(expression)
        except RuleCompileError:
            compiled = None
        if compiled is not None:
            result = _run(compiled.program, activation)
            if isinstance(result, str) and result.strip() and "\n" not in result:
                return result.strip()
    message = rule.get("message")
    if isinstance(message, str) and message.strip():
        return message.strip()
    return f"failed rule: {_rule_error_string(rule)}"


def _error_path(path: str, field_path: object) -> str:
    if isinstance(field_path, str) and field_path.strip():
        relative = field_path.strip().lstrip(".")
        # ['key'] segments become plain keys: spec['a-b'] -> spec.a-b
        relative = re.sub(r"\[['\"]([^'\"]*)['\"]\]", r".\1", relative).lstrip(".")
        return child_path(path, relative)
    return shown_path(path)


def _error_for_reason(where: str, reason: object, detail: str, value: str) -> FieldError:
    kind = reason if isinstance(reason, str) and reason in _REASONS else "FieldValueInvalid"
    if kind in ("FieldValueForbidden", "FieldValueRequired"):
        return FieldError(where, kind, detail, OMIT)
    if kind == "FieldValueDuplicate":
        return FieldError(where, kind, "", value)
    return FieldError(where, kind, detail, value)


# --- JSON -> CEL ----------------------------------------------------------------


def escape_property(name: str) -> str:
    """A property name as a CEL field name, escaped the way Kubernetes escapes it."""
    if name in _CEL_RESERVED:
        return f"__{name}__"
    if _IDENTIFIER.match(name) and "__" not in name:
        return name
    escaped = name.replace("__", "__underscores__")
    for char, word in ((".", "dot"), ("-", "dash"), ("/", "slash")):
        escaped = escaped.replace(char, f"__{word}__")
    return escaped


def to_cel(schema: object, value: object, *, root: bool = False) -> Any:
    """``value`` as a CEL value typed by ``schema`` (see the module docstring)."""
    if value is None:
        return None
    if not isinstance(schema, dict):
        return _json(value)
    declared = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        declared = None
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        if declared == "number":
            return celtypes.DoubleType(float(value))
        if declared == "integer" and float(value).is_integer() and _fits_int64(value):
            return celtypes.IntType(int(value))
        return _number(value)
    if isinstance(value, str):
        return _string_to_cel(schema, value)
    if isinstance(value, list):
        items = schema.get("items")
        return celtypes.ListType([to_cel(items, item) for item in value])
    if isinstance(value, dict):
        return _object_to_cel(schema, value, root=root)
    return _json(value)


def _string_to_cel(schema: dict[str, Any], value: str) -> Any:
    fmt = schema.get("format")
    try:
        if fmt == "byte":
            import base64

            return celtypes.BytesType(base64.b64decode(value))
        if fmt in ("date", "datetime"):
            text = value if fmt == "datetime" else f"{value}T00:00:00Z"
            return celtypes.TimestampType(text)
        if fmt == "duration":
            return celtypes.DurationType(value)
    except (ValueError, TypeError):
        pass  # an invalid value stays a string; structural validation reports it
    return celtypes.StringType(value)


def _object_to_cel(schema: dict[str, Any], value: dict[str, Any], *, root: bool) -> Any:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    additional = schema.get("additionalProperties")
    embedded = root or bool(schema.get("x-kubernetes-embedded-resource"))
    converted: dict[Any, Any] = {}
    for key, item in value.items():
        if embedded and key == "metadata":
            # Only name and generateName of metadata are visible to rules.
            if isinstance(item, dict):
                visible = {k: v for k, v in item.items() if k in ("name", "generateName")}
                converted[celtypes.StringType("metadata")] = _json(visible)
            continue
        sub = properties.get(key)
        if sub is not None:
            converted[celtypes.StringType(escape_property(key))] = to_cel(sub, item)
        elif isinstance(additional, dict):
            converted[celtypes.StringType(key)] = to_cel(additional, item)
        else:
            converted[celtypes.StringType(key)] = _json(item)
    return celtypes.MapType(converted)


def _fits_int64(value: int | float) -> bool:
    return -(2**63) <= value <= 2**63 - 1


def _number(value: int | float) -> Any:
    """An int as a CEL int, unless no int64 holds it: then, as Kubernetes decodes
    such JSON numbers, a double (celpy's IntType raises ValueError there)."""
    if isinstance(value, int) and _fits_int64(value):
        return celtypes.IntType(value)
    return celtypes.DoubleType(float(value))


def _json(value: object) -> Any:
    """Schema-less JSON -> CEL (ints stay ints, floats and ints beyond int64 doubles)."""
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return celtypes.ListType([_json(item) for item in value])
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(k): _json(v) for k, v in value.items()})
    return json_to_cel(value)  # type: ignore[arg-type]
