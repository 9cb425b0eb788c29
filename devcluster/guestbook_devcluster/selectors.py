"""Label and field selectors as the API server parses them.

Label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``,
``a`` (exists), ``!a`` (does not exist), comma-separated (all must hold).
Field selectors: ``path=value``, ``path==value``, ``path!=value`` over the
fields a resource supports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from guestbook_devcluster import errors

Predicate = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (p.strip() for p in parts) if p]


LabelTest = Callable[[dict[str, str]], bool]


def _label_equals(key: str, value: str, *, negate: bool) -> LabelTest:
    def test(labels: dict[str, str]) -> bool:
        return (labels.get(key) == value) != negate

    return test


def _label_in(key: str, values: set[str], *, negate: bool) -> LabelTest:
    def test(labels: dict[str, str]) -> bool:
        return (labels.get(key) in values) != negate

    return test


def _label_exists(key: str, *, negate: bool) -> LabelTest:
    def test(labels: dict[str, str]) -> bool:
        return (key in labels) != negate

    return test


def _field_equals(path: str, value: str, *, negate: bool) -> Predicate:
    def test(obj: dict[str, Any]) -> bool:
        return (field_value(obj, path) == value) != negate

    return test


def parse_label_selector(text: str) -> Predicate:
    """A predicate over objects; raises BadRequest for a malformed selector."""
    tests: list[LabelTest] = []
    for part in _split_top(text or ""):
        eq = _EQ_RE.match(part)
        if eq:
            key, op, value = eq.groups()
            tests.append(_label_equals(key, value, negate=op == "!="))
            continue
        match = _SET_RE.match(part)
        if not match:
            raise errors.bad_request(
                f"unable to parse requirement: invalid label selector {part!r}: "
                "use key=value, key!=value, key in (a,b), key notin (a,b), key or !key"
            )
        negated, key, op, values_text = match.groups()
        if op:
            if negated:
                raise errors.bad_request(f"unable to parse requirement: {part!r}")
            values = {v.strip() for v in values_text.split(",") if v.strip()}
            tests.append(_label_in(key, values, negate=op == "notin"))
        else:
            tests.append(_label_exists(key, negate=bool(negated)))

    def predicate(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return predicate


def field_value(obj: dict[str, Any], path: str) -> str:
    """The value at a dotted field path as a field selector compares it."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    if isinstance(current, dict):  # events' ``source`` selects on source.component
        return str(current.get("component", ""))
    return str(current)


def parse_field_selector(text: str, supported: tuple[str, ...]) -> Predicate:
    """A predicate over objects; raises BadRequest for unknown fields or bad syntax."""
    allowed = {"metadata.name", "metadata.namespace", *supported}
    tests: list[Predicate] = []
    for part in _split_top(text or ""):
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise errors.bad_request(
                f"invalid selector: '{part}'; can't understand '{part}': "
                "use field=value or field!=value"
            )
        path, op, value = match.groups()
        if path not in allowed:
            raise errors.bad_request(f"field label not supported: {path}")
        tests.append(_field_equals(path, value, negate=op == "!="))

    def predicate(obj: dict[str, Any]) -> bool:
        return all(test(obj) for test in tests)

    return predicate


def combine(*predicates: Predicate | None) -> Predicate | None:
    """All given predicates must hold; None when there are none."""
    active = [p for p in predicates if p is not None]
    if not active:
        return None
    if len(active) == 1:
        return active[0]
    return lambda obj: all(p(obj) for p in active)
