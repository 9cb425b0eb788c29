"""Field errors and the 422 ``Invalid`` Status, worded as kube-apiserver words them.

Kubernetes collects every problem of an object as a list of field errors
(``k8s.io/apimachinery/pkg/util/validation/field``) and answers with one
``Status`` whose ``details.causes`` lists them. Clients show these texts to
people (``kubectl apply`` prints the Status message), so the wording follows the
apiserver's exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

# Cause reason -> the human prefix kube-apiserver prints (field.ErrorType.String()).
_TYPE_TEXT: Final[dict[str, str]] = {
    "FieldValueNotFound": "Not found",
    "FieldValueRequired": "Required value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "FieldValueTooShort": "Too short",
    "InternalError": "Internal error",
    "FieldValueTypeInvalid": "Invalid value",
}

# Types whose message never shows the offending value (it may be huge or secret).
_VALUE_OMITTED: Final = frozenset(
    {
        "FieldValueRequired",
        "FieldValueForbidden",
        "FieldValueTooLong",
        "FieldValueTooShort",
        "InternalError",
    }
)


class _Omit:
    """Marker for a bad value that the message leaves out (``omitValue`` in Go)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()


def render_value(value: object) -> str:
    """Render a bad value the way Go's field errors do.

    Strings are double-quoted (Go ``%q``), numbers and booleans printed plainly,
    anything else as compact JSON.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _go_number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of an object.

    ``field`` is the JSON path as Kubernetes prints it (``spec.message``,
    ``spec.items[2]``, ``<nil>`` for the object itself); ``type`` is the cause
    reason (``FieldValueRequired``, ``FieldValueInvalid``, ``FieldValueNotSupported``,
    ``FieldValueTooLong``, ``FieldValueTooMany``, ``FieldValueTypeInvalid``,
    ``FieldValueDuplicate``, ``FieldValueForbidden``, ...); ``value`` is the bad value
    (``OMIT`` to leave it out of the message).
    """

    field: str
    type: str
    detail: str = ""
    value: object = ""

    def body(self) -> str:
        """The message without the field path (``ErrorBody`` in Go)."""
        prefix = _TYPE_TEXT.get(self.type, f"<unknown error {json.dumps(self.type)}>")
        if self.type in _VALUE_OMITTED or self.value is OMIT:
            text = prefix
        else:
            text = f"{prefix}: {render_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def message(self) -> str:
        """The full message, ``<field>: <body>``, as in ``kubectl apply`` output."""
        return f"{self.field}: {self.body()}"

    def to_cause(self) -> dict[str, Any]:
        """This error as an item of a Status's ``details.causes``."""
        return {"reason": self.type, "message": self.body(), "field": self.field}


def qualified_kind(kind: str, group: str) -> str:
    """``Kind.group`` as kube-apiserver names a kind in messages (just ``Kind`` for core)."""
    return f"{kind}.{group}" if group else kind


def aggregate_message(errors: list[FieldError]) -> str:
    """Join messages like Go's ``utilerrors.Aggregate``: one alone, several in ``[a, b]``.

    Repeated identical messages are shown once, as the apiserver does.
    """
    seen: list[str] = []
    for error in errors:
        text = error.message()
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def invalid_status(kind: str, name: str, group: str, errors: list[FieldError]) -> dict[str, Any]:
    """The 422 ``Invalid`` Status for an object that failed validation.

    ``group`` is empty for the core API group. With no errors the message is just
    ``<Kind> "<name>" is invalid``.
    """
    head = f"{qualified_kind(kind, group)} {json.dumps(name)} is invalid"
    message = f"{head}: {aggregate_message(errors)}" if errors else head
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Invalid",
        "details": _details(kind, name, group, errors),
        "code": 422,
    }


def _details(kind: str, name: str, group: str, errors: list[FieldError]) -> dict[str, Any]:
    # Go omits empty fields of StatusDetails (the core group has no "group").
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    if errors:
        details["causes"] = [error.to_cause() for error in errors]
    return details
