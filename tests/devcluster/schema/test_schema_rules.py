"""CEL ``x-kubernetes-validations`` rules, transition rules included."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from guestbook_devcluster.schema.rules import (
    compile_rule,
    escape_property,
    evaluate_rules,
    rule_compile_errors,
)


def entry(message: str = "hi") -> dict[str, Any]:
    return {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "e"},
        "spec": {"ledger": "guestbook", "author": "ada", "message": message},
    }


def test_spec_is_immutable_on_update(entry_schema: dict[str, Any]) -> None:
    old = entry()
    assert evaluate_rules(entry_schema, entry(), old) == []
    errors = evaluate_rules(entry_schema, entry("edited"), old)
    assert [e.message() for e in errors] == [
        'spec: Invalid value: "object": spec is immutable: a guestbook entry cannot be edited '
        "once submitted; create a new GuestbookEntry instead."
    ]


def test_transition_rules_are_skipped_on_create(entry_schema: dict[str, Any]) -> None:
    assert evaluate_rules(entry_schema, entry("anything"), None) == []


def test_transition_rules_are_skipped_where_old_value_is_absent(
    entry_schema: dict[str, Any],
) -> None:
    old = entry()
    del old["spec"]
    assert evaluate_rules(entry_schema, entry("new"), old) == []


def test_status_changes_do_not_trip_spec_rule(entry_schema: dict[str, Any]) -> None:
    old = entry()
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Sealed"}
    assert evaluate_rules(entry_schema, new, old) == []


def test_ledger_worker_bounds(ledger_schema: dict[str, Any]) -> None:
    ok = {"spec": {"minWorkers": 1, "maxWorkers": 4}}
    assert evaluate_rules(ledger_schema, ok, None) == []
    bad = {"spec": {"minWorkers": 5, "maxWorkers": 4}}
    assert [e.message() for e in evaluate_rules(ledger_schema, bad, None)] == [
        'spec: Invalid value: "object": minWorkers must not exceed maxWorkers; lower '
        "minWorkers or raise maxWorkers."
    ]


def test_numbers_are_doubles_by_schema_even_when_written_as_integers() -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.wait < 1.5 && self.count == 2"}],
        "properties": {"wait": {"type": "number"}, "count": {"type": "integer"}},
    }
    assert evaluate_rules(schema, {"wait": 1, "count": 2}, None) == []
    assert evaluate_rules(schema, {"wait": 1.0, "count": 2.0}, None) == []
    failed = evaluate_rules(schema, {"wait": 2, "count": 2}, None)
    assert [e.message() for e in failed] == [
        '<nil>: Invalid value: "object": failed rule: self.wait < 1.5 && self.count == 2'
    ]


def test_size_has_and_field_path_and_reason() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "x-kubernetes-validations": [
                    {
                        "rule": "size(self.tags) < 3",
                        "fieldPath": ".tags",
                        "reason": "FieldValueForbidden",
                        "message": "at most two tags",
                    },
                    {
                        "rule": "has(self.owner)",
                        "reason": "FieldValueRequired",
                        "message": "owner is required",
                    },
                    {
                        "rule": "self.name.startsWith('x')",
                        "messageExpression": "'name ' + self.name + ' must start with x'",
                    },
                ],
                "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "owner": {"type": "string"},
                    "name": {"type": "string"},
                },
            }
        },
    }
    errors = evaluate_rules(schema, {"spec": {"tags": ["a", "b", "c"], "name": "yak"}}, None)
    assert [(e.field, e.type, e.message()) for e in errors] == [
        ("spec.tags", "FieldValueForbidden", "spec.tags: Forbidden: at most two tags"),
        ("spec", "FieldValueRequired", "spec: Required value: owner is required"),
        ("spec", "FieldValueInvalid", 'spec: Invalid value: "object": name yak must start with x'),
    ]
    ok = {"spec": {"tags": ["a"], "owner": "me", "name": "xavier"}}
    assert evaluate_rules(schema, ok, None) == []


def test_rules_on_list_items_and_escaped_names() -> None:
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "x-kubernetes-validations": [{"rule": "self.max__dash__size >= self.min"}],
            "properties": {"max-size": {"type": "integer"}, "min": {"type": "integer"}},
        },
    }
    errors = evaluate_rules(schema, [{"max-size": 3, "min": 1}, {"max-size": 1, "min": 2}], None)
    assert [e.field for e in errors] == ["[1]"]
    assert escape_property("a.b") == "a__dot__b"
    assert escape_property("namespace") == "__namespace__"
    assert escape_property("x__y") == "x__underscores__y"


def test_map_list_items_correlate_by_key_for_transition_rules() -> None:
    schema = {
        "type": "object",
        "properties": {
            "conditions": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {
                    "type": "object",
                    "x-kubernetes-validations": [
                        {"rule": "self.since == oldSelf.since", "message": "since is fixed"}
                    ],
                    "properties": {"type": {"type": "string"}, "since": {"type": "string"}},
                },
            }
        },
    }
    old = {"conditions": [{"type": "A", "since": "1"}]}
    new = {"conditions": [{"type": "B", "since": "9"}, {"type": "A", "since": "2"}]}
    errors = evaluate_rules(schema, new, old)
    assert [(e.field, e.detail) for e in errors] == [("conditions[1]", "since is fixed")]


def test_evaluation_errors_are_field_errors_not_exceptions() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.missing > 1"}]}
    errors = evaluate_rules(schema, {"present": 1}, None)
    assert [e.detail for e in errors] == ["no such key: missing evaluating rule: self.missing > 1"]


def test_uncompilable_rules_are_reported_for_the_crd() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.a +"}]}
        },
    }
    errors = rule_compile_errors(schema, "spec.validation.openAPIV3Schema")
    assert [e.field for e in errors] == [
        "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    ]
    # At evaluation time the same rule is an error, never an exception.
    failed = evaluate_rules(schema, {"spec": {"a": 1}}, None)
    assert failed[0].field == "spec" and "compilation failed" in failed[0].detail


def test_compiled_programs_are_cached() -> None:
    assert compile_rule("self == oldSelf") is compile_rule("self == oldSelf")
    assert compile_rule("self == oldSelf").uses_old_self
    assert not compile_rule("self.x > 0").uses_old_self


@pytest.mark.parametrize(
    ("fmt", "value", "rule"),
    [
        ("duration", "1h30m", "self.v == duration('5400s')"),
        ("datetime", "2026-01-02T03:04:05Z", "self.v.getFullYear() == 2026"),
        ("byte", "aGk=", "self.v == b'hi'"),
    ],
)
def test_formats_become_cel_types(fmt: str, value: str, rule: str) -> None:
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": rule}],
        "properties": {"v": {"type": "string", "format": fmt}},
    }
    assert evaluate_rules(schema, {"v": value}, None) == []


def test_unchanged_values_are_not_rechecked_but_changed_ones_are(
    ledger_schema: dict[str, Any],
) -> None:
    legacy = {"spec": {"minWorkers": 5, "maxWorkers": 2}}
    status_update = {**copy.deepcopy(legacy), "status": {"treeSize": 3}}
    assert evaluate_rules(ledger_schema, status_update, legacy) == []
    edited = {"spec": {"minWorkers": 6, "maxWorkers": 2}}
    assert [e.field for e in evaluate_rules(ledger_schema, edited, legacy)] == ["spec"]
