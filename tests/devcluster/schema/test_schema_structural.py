"""Structural validation against the project's CRD schemas and small schemas."""

from __future__ import annotations

from typing import Any

from guestbook_devcluster.schema.structural import validate


def entry(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"ledger": "guestbook", "author": "ada", "message": "hi", **spec},
    }


def messages(schema: dict[str, Any], obj: object) -> list[str]:
    return [e.message() for e in validate(schema, obj)]


def test_valid_entry_has_no_errors(entry_schema: dict[str, Any]) -> None:
    assert validate(entry_schema, entry()) == []
    assert validate(entry_schema, entry(message="é" * 2000)) == []


def test_every_violation_is_reported(entry_schema: dict[str, Any]) -> None:
    obj = entry(message="", author="a" * 65, ledger="Not_A_Name")
    obj["status"] = {"phase": "Done", "leafIndex": -1, "leafHash": "XYZ"}
    assert messages(entry_schema, obj) == [
        'spec.ledger: Invalid value: "Not_A_Name": spec.ledger in body should match '
        "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'",
        "spec.author: Too long: may not be more than 64 bytes",
        'spec.message: Invalid value: "": spec.message in body should be at least 1 chars long',
        'status.phase: Unsupported value: "Done": supported values: '
        '"Pending", "Hashing", "Sealed", "Failed"',
        "status.leafIndex: Invalid value: -1: status.leafIndex in body should be greater than "
        "or equal to 0",
        'status.leafHash: Invalid value: "XYZ": status.leafHash in body should match '
        "'^[0-9a-f]{64}$'",
    ]


def test_lengths_count_code_points_not_bytes(entry_schema: dict[str, Any]) -> None:
    assert validate(entry_schema, entry(author="ü" * 64)) == []
    assert [e.type for e in validate(entry_schema, entry(author="ü" * 65))] == ["FieldValueTooLong"]


def test_required_and_type_errors(entry_schema: dict[str, Any]) -> None:
    obj = entry()
    del obj["spec"]["message"]
    obj["spec"]["author"] = 42
    assert messages(entry_schema, obj) == [
        "spec.message: Required value",
        'spec.author: Invalid value: "integer": spec.author in body must be of type string: '
        '"integer"',
    ]
    assert messages(entry_schema, {"metadata": {"name": "x"}}) == ["spec: Required value"]


def test_null_is_a_type_error_unless_nullable() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert messages(schema, {"a": None}) == [
        'a: Invalid value: "null": a in body must be of type string: "null"'
    ]
    schema["properties"]["a"]["nullable"] = True
    assert validate(schema, {"a": None}) == []


def test_integers_and_numbers_follow_json_number_rules() -> None:
    schema = {
        "type": "object",
        "properties": {"i": {"type": "integer"}, "n": {"type": "number", "maximum": 2.5}},
    }
    assert validate(schema, {"i": 3.0, "n": 2}) == []
    assert messages(schema, {"i": 3.5, "n": 3}) == [
        'i: Invalid value: "number": i in body must be of type integer: "number"',
        "n: Invalid value: 3: n in body should be less than or equal to 2.5",
    ]
    assert messages(schema, {"i": True}) == [
        'i: Invalid value: "boolean": i in body must be of type integer: "boolean"'
    ]


def test_exclusive_bounds() -> None:
    schema = {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10,
        "exclusiveMaximum": True,
    }
    assert validate(schema, 5) == []
    assert [e.detail for e in validate(schema, 0, "n")] == ["n in body should be greater than 0"]
    assert [e.detail for e in validate(schema, 10, "n")] == ["n in body should be less than 10"]


def test_int_or_string_and_preserve_unknown_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    assert validate(schema, {"port": 80, "free": {"any": [1, {"x": None}]}}) == []
    assert validate(schema, {"port": "http"}) == []
    assert messages(schema, {"port": [1]}) == [
        'port: Invalid value: "array": port in body must be of type integer,string: "array"'
    ]


def test_date_time_format(entry_schema: dict[str, Any]) -> None:
    ok = entry()
    ok["status"] = {"sealedAt": "2026-11-25T11:27:22.123456Z"}
    assert validate(entry_schema, ok) == []
    ok["status"] = {"sealedAt": "2026-11-25T11:27:22+01:00"}
    assert validate(entry_schema, ok) == []
    bad = entry()
    bad["status"] = {"sealedAt": "2026-13-45T00:00:00Z"}
    assert messages(entry_schema, bad) == [
        'status.sealedAt: Invalid value: "2026-13-45T00:00:00Z": status.sealedAt in body must '
        'be of type date-time: "2026-13-45T00:00:00Z"'
    ]


def test_items_counts_and_paths() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "minItems": 1,
                "maxItems": 2,
                "items": {"type": "string", "maxLength": 3},
            },
            "labels": {
                "type": "object",
                "maxProperties": 1,
                "minProperties": 1,
                "additionalProperties": {"type": "string", "enum": ["a", "b"]},
            },
        },
    }
    assert messages(schema, {"tags": ["ok", "long!", "x"], "labels": {"k": "c", "j": "a"}}) == [
        "tags[1]: Too long: may not be more than 3 bytes",
        "tags: Too many: 3: must have at most 2 items",
        "labels: Too many: 2: must have at most 1 item",
        'labels.k: Unsupported value: "c": supported values: "a", "b"',
    ]
    assert messages(schema, {"tags": [], "labels": {}}) == [
        "tags: Invalid value: 0: tags in body should have at least 1 items",
        "labels: Invalid value: 1: labels in body should have at least 1 properties",
    ]


def test_list_type_set_and_map_report_duplicates(entry_schema: dict[str, Any]) -> None:
    condition = {
        "type": "Sealed",
        "status": "True",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "Appended",
        "message": "",
    }
    obj = entry()
    obj["status"] = {"conditions": [condition, {**condition, "status": "False"}]}
    assert messages(entry_schema, obj) == [
        'status.conditions[1]: Duplicate value: {"type":"Sealed"}'
    ]
    schema = {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "integer"}}
    assert messages(schema, [1, 2, 1, 1]) == [
        "[2]: Duplicate value: 1",
        "[3]: Duplicate value: 1",
    ]


def test_schema_errors_come_before_list_type_errors() -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "t": {"type": "string"},
        },
    }
    assert [e.type for e in validate(schema, {"s": ["a", "a"], "t": 1})] == [
        "FieldValueTypeInvalid",
        "FieldValueDuplicate",
    ]


def test_bad_pattern_in_schema_is_ignored_not_raised() -> None:
    assert validate({"type": "string", "pattern": "(unclosed"}, "x") == []


def test_unchanged_invalid_values_are_ratcheted_on_update(entry_schema: dict[str, Any]) -> None:
    # Stored before the schema was tightened: too long an author, a bad status phase.
    old = entry(author="a" * 80)
    old["status"] = {"phase": "Legacy", "leafIndex": 1}
    new = entry(author="a" * 80)
    new["status"] = {"phase": "Legacy", "leafIndex": 2}
    assert validate(entry_schema, new, old=old) == []
    assert len(validate(entry_schema, new)) == 2  # on create nothing is ratcheted
    changed = entry(author="b" * 80)
    changed["status"] = {"phase": "Legacy", "leafIndex": -1}
    assert [e.field for e in validate(entry_schema, changed, old=old)] == [
        "spec.author",
        "status.leafIndex",
    ]


def test_ratcheting_correlates_map_list_items_by_key() -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name"],
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "n": {"type": "integer", "maximum": 1}},
        },
    }
    old = [{"name": "a", "n": 5}]
    new = [{"name": "b", "n": 0}, {"name": "a", "n": 5}, {"name": "c", "n": 9}]
    assert [e.field for e in validate(schema, new, old=old)] == ["[2].n"]
    # true is not 1: a changed type is validated again.
    flag = {"type": "object", "properties": {"f": {"type": "integer"}}}
    assert [e.field for e in validate(flag, {"f": True}, old={"f": 1})] == ["f"]


def test_ratcheting_compares_as_json_not_as_python() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "maximum": 1},
            "m": {"type": "object", "properties": {"f": {"type": "integer", "maximum": 0}}},
        },
    }
    # 5 and 5.0 are the same JSON number, key order is no change: both ratcheted.
    assert validate(schema, {"n": 5.0, "m": {"f": 3}}, old={"m": {"f": 3}, "n": 5}) == []
    # Python's True == 1, JSON's true is not 1: the nested change is validated.
    flagged = validate(schema, {"n": 0, "m": {"f": True}}, old={"n": 0, "m": {"f": 1}})
    assert [e.field for e in flagged] == ["m.f"]
    # Integers beyond 64 bits compare too (unchanged, so not reported again).
    huge = {"n": 2**70, "m": {"f": 2**70}}
    assert validate(schema, huge, old={"n": 2**70, "m": {"f": 2**70}}) == []
    assert len(validate(schema, huge)) == 2


def test_enum_matches_json_values_of_the_same_type_only() -> None:
    schema = {"type": "object", "properties": {"s": {"enum": ["1", "a"]}, "i": {"enum": [1]}}}
    assert validate(schema, {"s": "a", "i": 1.0}) == []
    assert messages(schema, {"s": 1, "i": "1"}) == [
        's: Unsupported value: 1: supported values: "1", "a"',
        'i: Unsupported value: "1": supported values: "1"',
    ]
    assert [e.field for e in validate(schema, {"i": True})] == ["i"]


def test_map_list_keys_are_compared_by_name_and_json_value() -> None:
    schema = {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["name", "port"],
        "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
        },
    }
    # Different keys present with the same value are different items.
    assert validate(schema, [{"name": "80"}, {"port": 80}]) == []
    assert [e.field for e in validate(schema, [{"port": 80}, {"port": 80.0}])] == ["[1]"]
    assert [e.field for e in validate(schema, [{"name": "a"}, {"name": "a"}])] == ["[1]"]
