"""The JSONPath subset of CRD ``additionalPrinterColumns`` (decision 0033).

Kubernetes evaluates a column's ``jsonPath`` with client-go's JSONPath and
shows the first match. Columns in practice use: fields (``.spec.author``,
``.metadata['a.b/c']``), indexes (``.items[0]``, ``.items[-1]``), wildcards
(``.items[*].name``), filters (``.status.conditions[?(@.type=="Ready")].status``,
comparisons ``== != < <= > >=``, existence ``[?(@.reason)]``) and recursive
descent (``..name``). That is what this module implements; an optional
surrounding ``{...}`` is accepted as client-go accepts it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Final

_NAME: Final = re.compile(r"[A-Za-z0-9_$@\-/]+")
_FILTER: Final = re.compile(
    r"^\s*@((?:\.[A-Za-z0-9_\-/]+|\[['\"][^'\"]*['\"]\])*)\s*"
    r"(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*$"
)


class JSONPathError(ValueError):
    """The expression is outside the supported subset or malformed."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Descend:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _Wildcard:
    pass


@dataclass(frozen=True)
class _Filter:
    path: tuple[str, ...]
    operator: str | None
    operand: object


_Step = _Field | _Descend | _Index | _Wildcard | _Filter


@functools.lru_cache(maxsize=1024)
def parse(expression: str) -> tuple[_Step, ...]:
    """The steps of ``expression``. Raises JSONPathError when it cannot be parsed."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[_Step] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if text.startswith("..", pos):
            match = _NAME.match(text, pos + 2)
            if not match:
                raise JSONPathError(f"expected a field name after '..' in {expression!r}")
            steps.append(_Descend(match.group()))
            pos = match.end()
        elif char == ".":
            if text.startswith(".*", pos):
                steps.append(_Wildcard())
                pos += 2
                continue
            match = _NAME.match(text, pos + 1)
            if not match:
                if pos + 1 == len(text):  # a lone "." is the object itself
                    pos += 1
                    continue
                raise JSONPathError(f"expected a field name at {pos + 1} in {expression!r}")
            steps.append(_Field(match.group()))
            pos = match.end()
        elif char == "[":
            end = _closing_bracket(text, pos, expression)
            steps.append(_bracket(text[pos + 1 : end].strip(), expression))
            pos = end + 1
        else:
            raise JSONPathError(f"unexpected {char!r} at {pos} in {expression!r}")
    return tuple(steps)


def _closing_bracket(text: str, start: int, expression: str) -> int:
    depth = 0
    quote: str | None = None
    for pos in range(start, len(text)):
        char = text[pos]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return pos
    raise JSONPathError(f"unclosed '[' in {expression!r}")


def _bracket(inner: str, expression: str) -> _Step:
    if inner == "*":
        return _Wildcard()
    if len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
        return _Field(inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return _Index(int(inner))
    if inner.startswith("?(") and inner.endswith(")"):
        match = _FILTER.match(inner[2:-1])
        if not match:
            raise JSONPathError(f"unsupported filter [{inner}] in {expression!r}")
        path = tuple(
            part.strip("'\"")
            for part in re.findall(r"\.([A-Za-z0-9_\-/]+)|\[(['\"][^'\"]*['\"])\]", match.group(1))
            for part in part
            if part
        )
        operand = _literal(match.group(3), expression) if match.group(2) else None
        return _Filter(path, match.group(2), operand)
    raise JSONPathError(f"unsupported [{inner}] in {expression!r}")


def _literal(text: str, expression: str) -> object:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unsupported literal {text!r} in {expression!r}") from None


def find(expression: str, document: object) -> list[Any]:
    """Every value ``expression`` selects in ``document``, in document order.

    Missing fields select nothing (client-go's AllowMissingKeys). Raises
    JSONPathError when the expression cannot be parsed.
    """
    current: list[Any] = [document]
    for step in parse(expression):
        current = [found for value in current for found in _apply(step, value)]
    return current


def _apply(step: _Step, value: Any) -> list[Any]:
    if isinstance(step, _Field):
        return [value[step.name]] if isinstance(value, dict) and step.name in value else []
    if isinstance(step, _Index):
        if isinstance(value, list) and -len(value) <= step.index < len(value):
            return [value[step.index]]
        return []
    if isinstance(step, _Wildcard):
        if isinstance(value, list):
            return list(value)
        return list(value.values()) if isinstance(value, dict) else []
    if isinstance(step, _Descend):
        return _descend(step.name, value)
    items = value if isinstance(value, list) else []
    return [item for item in items if _matches(step, item)]


def _descend(name: str, value: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        if name in value:
            found.append(value[name])
        for child in value.values():
            found.extend(_descend(name, child))
    elif isinstance(value, list):
        for child in value:
            found.extend(_descend(name, child))
    return found


def _matches(step: _Filter, item: Any) -> bool:
    value = item
    for key in step.path:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    if step.operator is None:
        return True
    operand = step.operand
    if step.operator == "==":
        return bool(value == operand)
    if step.operator == "!=":
        return bool(value != operand)
    numeric = (int, float)
    both_numbers = isinstance(value, numeric) and isinstance(operand, numeric)
    both_strings = isinstance(value, str) and isinstance(operand, str)
    if not (both_numbers or both_strings):
        return False
    left: Any = value
    right: Any = operand
    if step.operator == "<":
        return bool(left < right)
    if step.operator == "<=":
        return bool(left <= right)
    if step.operator == ">":
        return bool(left > right)
    return bool(left >= right)
