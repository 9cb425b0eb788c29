"""Defaulting and pruning of custom resources as kube-apiserver does them."""

from __future__ import annotations

import copy
from typing import Any

from guestbook_devcluster.schema.defaults import apply_defaults
from guestbook_devcluster.schema.prune import prune, strict_decoding_message, unknown_fields


def test_entry_defaults_fill_missing_spec_fields(entry_schema: dict[str, Any]) -> None:
    obj = {"metadata": {"name": "e"}, "spec": {"message": "hi"}}
    before = copy.deepcopy(obj)
    result = apply_defaults(entry_schema, obj)
    assert result == {
        "metadata": {"name": "e"},
        "spec": {"message": "hi", "ledger": "guestbook", "author": ""},
    }
    assert obj == before  # the input is not changed


def test_defaults_recurse_into_defaulted_objects(ledger_schema: dict[str, Any]) -> None:
    result = apply_defaults(ledger_schema, {"metadata": {"name": "l"}})
    assert isinstance(result, dict)
    spec = result["spec"]
    assert spec["minWorkers"] == 0 and spec["maxWorkers"] == 4
    assert spec["batch"] == {"maxEntries": 1000, "maxWaitSeconds": 0.2}
    # Explicit values win; a partial nested object gets the rest.
    result = apply_defaults(ledger_schema, {"spec": {"maxWorkers": 9, "batch": {"maxEntries": 5}}})
    assert isinstance(result, dict)
    assert result["spec"]["maxWorkers"] == 9
    assert result["spec"]["batch"] == {"maxEntries": 5, "maxWaitSeconds": 0.2}


def test_defaults_do_not_create_absent_parents_without_default() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string", "default": "x"}}},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}},
            },
            "m": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"z": {"type": "boolean", "default": True}},
                },
            },
        },
    }
    assert apply_defaults(schema, {}) == {}
    assert apply_defaults(schema, {"a": {}, "items": [{}, {"n": 5}], "m": {"k": {}}}) == {
        "a": {"b": "x"},
        "items": [{"n": 1}, {"n": 5}],
        "m": {"k": {"z": True}},
    }


def test_null_in_non_nullable_field_is_replaced_by_default() -> None:
    prop: dict[str, Any] = {"type": "string", "default": "d"}
    schema = {"type": "object", "properties": {"a": prop}}
    assert apply_defaults(schema, {"a": None}) == {"a": "d"}
    prop["nullable"] = True
    assert apply_defaults(schema, {"a": None}) == {"a": None}


def test_prune_drops_unknown_fields_but_keeps_resource_keys(entry_schema: dict[str, Any]) -> None:
    obj = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "e", "labels": {"a": "b"}, "bogus": 1},
        "spec": {"message": "hi", "colour": "red"},
        "status": {"phase": "Pending", "extra": {"deep": True}},
        "top": 1,
    }
    assert unknown_fields(entry_schema, obj) == [
        "metadata.bogus",
        "spec.colour",
        "status.extra",
        "top",
    ]
    assert prune(entry_schema, obj) == {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "e", "labels": {"a": "b"}},
        "spec": {"message": "hi"},
        "status": {"phase": "Pending"},
    }
    assert obj["spec"] == {"message": "hi", "colour": "red"}  # the input is not changed


def test_prune_respects_preserve_unknown_fields_and_embedded_resources() -> None:
    schema = {
        "type": "object",
        "properties": {
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "template": {
                "type": "object",
                "x-kubernetes-embedded-resource": True,
                "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
            },
            "list": {
                "type": "array",
                "items": {"type": "object", "properties": {"k": {"type": "string"}}},
            },
        },
    }
    obj = {
        "free": {"anything": {"goes": [1]}},
        "template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "junk": 1},
            "spec": {"a": "x", "b": "y"},
        },
        "list": [{"k": "v", "x": 1}],
    }
    assert unknown_fields(schema, obj) == [
        "template.metadata.junk",
        "template.spec.b",
        "list[0].x",
    ]
    assert prune(schema, obj) == {
        "free": {"anything": {"goes": [1]}},
        "template": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"a": "x"},
        },
        "list": [{"k": "v"}],
    }


def test_prune_drops_nulls_of_non_nullable_fields_and_then_defaults_apply(
    entry_schema: dict[str, Any],
) -> None:
    obj = {"spec": {"message": "hi", "author": None}}
    pruned = prune(entry_schema, obj)
    assert pruned == {"spec": {"message": "hi"}}
    assert unknown_fields(entry_schema, obj) == []
    assert apply_defaults(entry_schema, pruned) == {
        "spec": {"message": "hi", "author": "", "ledger": "guestbook"}
    }


def test_strict_decoding_message_names_every_field() -> None:
    assert strict_decoding_message(["spec.foo", "spec.bar"]) == (
        'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"'
    )
    assert strict_decoding_message(["spec.foo"], "GuestbookEntry", "v1alpha1") == (
        'GuestbookEntry in version "v1alpha1" cannot be handled as a GuestbookEntry: '
        'strict decoding error: unknown field "spec.foo"'
    )
