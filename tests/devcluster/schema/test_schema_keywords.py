"""Frozen schemas: skipping the parts without defaults, rules or list types changes
no result."""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.schema.defaults import apply_defaults
from guestbook_devcluster.schema.keywords import freeze, is_frozen, uses
from guestbook_devcluster.schema.rules import evaluate_rules
from guestbook_devcluster.schema.structural import validate


def deep(leaf: dict[str, Any]) -> dict[str, Any]:
    """``leaf`` as the schema of ``a.b[*].c`` in an object."""
    return {
        "type": "object",
        "properties": {
            "plain": {"type": "object", "properties": {"x": {"type": "string"}}},
            "a": {
                "type": "object",
                "properties": {
                    "b": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"c": leaf}},
                    }
                },
            },
        },
    }


def test_uses_finds_keywords_at_any_depth_only_where_they_are() -> None:
    schema = deep({"type": "string", "default": "d"})
    plain = schema["properties"]["plain"]
    assert uses(plain, "default")  # not frozen: nothing may be skipped
    freeze(schema)
    assert is_frozen(plain) and is_frozen(schema["properties"]["a"]["properties"]["b"]["items"])
    assert uses(schema, "default")
    assert not uses(plain, "default")
    assert not uses(schema, "x-kubernetes-validations")


def test_a_schema_that_contains_itself_can_be_frozen() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    schema["properties"]["self"] = schema
    freeze(schema)
    assert uses(schema, "x-kubernetes-list-type")


def test_defaults_and_rules_deep_in_a_frozen_schema_still_apply() -> None:
    defaulting = deep({"type": "string", "default": "d"})
    freeze(defaulting)
    defaulted = apply_defaults(defaulting, {"plain": {"x": "y"}, "a": {"b": [{}]}})
    assert defaulted == {"plain": {"x": "y"}, "a": {"b": [{"c": "d"}]}}
    ruled = deep({"type": "string", "x-kubernetes-validations": [{"rule": "self != 'no'"}]})
    freeze(ruled)
    errors = evaluate_rules(ruled, {"plain": {"x": "no"}, "a": {"b": [{"c": "no"}]}}, None)
    assert [e.field for e in errors] == ["a.b[0].c"]


def test_a_schema_changed_after_use_is_validated_as_it_is_now() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert [e.field for e in validate(schema, {"a": None})] == ["a"]
    schema["properties"]["a"]["nullable"] = True  # allowed: it was never frozen
    assert validate(schema, {"a": None}) == []


def test_a_frozen_schema_validates_as_an_unfrozen_copy() -> None:
    schema = deep({"type": "string", "maxLength": 2, "enum": ["ab", "abc"]})
    schema["required"] = ["a"]
    schema["properties"]["plain"]["additionalProperties"] = False
    obj = {"plain": {"x": 1, "y": "z"}, "a": {"b": [{"c": "abc"}, {"c": None}, {"c": "q"}]}}
    before = [e.message() for e in validate(schema, obj)]
    freeze(schema)
    assert [e.message() for e in validate(schema, obj)] == before
    assert len(before) == 5
