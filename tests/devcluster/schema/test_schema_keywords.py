"""Skipping schema parts without defaults, rules or list types changes no result."""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.schema.defaults import apply_defaults
from guestbook_devcluster.schema.keywords import uses
from guestbook_devcluster.schema.rules import evaluate_rules


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
    assert uses(schema, "default")
    assert not uses(schema["properties"]["plain"], "default")
    assert not uses(schema, "x-kubernetes-validations")


def test_uses_answers_yes_for_a_schema_that_contains_itself() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    schema["properties"]["self"] = schema
    assert uses(schema, "x-kubernetes-list-type")


def test_defaults_and_rules_deep_in_the_schema_still_apply() -> None:
    defaulted = apply_defaults(
        deep({"type": "string", "default": "d"}), {"plain": {"x": "y"}, "a": {"b": [{}]}}
    )
    assert defaulted == {"plain": {"x": "y"}, "a": {"b": [{"c": "d"}]}}
    ruled = deep({"type": "string", "x-kubernetes-validations": [{"rule": "self != 'no'"}]})
    errors = evaluate_rules(ruled, {"plain": {"x": "no"}, "a": {"b": [{"c": "no"}]}}, None)
    assert [e.field for e in errors] == ["a.b[0].c"]
