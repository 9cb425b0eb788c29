"""Field errors and the 422 Status read exactly like kube-apiserver's."""

from __future__ import annotations

from guestbook_devcluster.schema.errors import OMIT, FieldError, invalid_status


def test_messages_follow_go_field_error_wording() -> None:
    assert FieldError("spec.message", "FieldValueRequired").message() == (
        "spec.message: Required value"
    )
    too_long = FieldError("spec.author", "FieldValueTooLong", "may not be more than 64 bytes", OMIT)
    assert too_long.message() == "spec.author: Too long: may not be more than 64 bytes"
    invalid = FieldError("spec.n", "FieldValueInvalid", "spec.n in body should be less than 3", 7)
    assert invalid.message() == "spec.n: Invalid value: 7: spec.n in body should be less than 3"
    quoted = FieldError("spec.s", "FieldValueInvalid", "bad", 'say "hi"')
    assert quoted.body() == 'Invalid value: "say \\"hi\\"": bad'
    assert FieldError("a", "FieldValueDuplicate", "", {"type": "A"}).body() == (
        'Duplicate value: {"type":"A"}'
    )
    assert FieldError("a", "FieldValueInvalid", "x", True).body() == "Invalid value: true: x"
    assert FieldError("a", "FieldValueInvalid", "x", 2.5).body() == "Invalid value: 2.5: x"


def test_cause_carries_reason_body_and_field() -> None:
    error = FieldError("spec.phase", "FieldValueNotSupported", 'supported values: "A"', "B")
    assert error.to_cause() == {
        "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "B": supported values: "A"',
        "field": "spec.phase",
    }


def test_invalid_status_lists_every_error_in_brackets() -> None:
    errors = [
        FieldError("spec.message", "FieldValueRequired"),
        FieldError("spec.author", "FieldValueTooLong", "may not be more than 64 bytes", OMIT),
    ]
    status = invalid_status("GuestbookEntry", "hello", "ledger.guestbook.io", errors)
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["message"] == (
        'GuestbookEntry.ledger.guestbook.io "hello" is invalid: '
        "[spec.message: Required value, spec.author: Too long: may not be more than 64 bytes]"
    )
    assert status["details"] == {
        "name": "hello",
        "group": "ledger.guestbook.io",
        "kind": "GuestbookEntry",
        "causes": [e.to_cause() for e in errors],
    }


def test_single_error_has_no_brackets_and_core_group_is_omitted() -> None:
    status = invalid_status("ConfigMap", "c", "", [FieldError("data", "FieldValueRequired")])
    assert status["message"] == 'ConfigMap "c" is invalid: data: Required value'
    assert "group" not in status["details"]


def test_repeated_messages_are_shown_once() -> None:
    error = FieldError("spec", "FieldValueInvalid", "no", "object")
    status = invalid_status("Ledger", "l", "ledger.guestbook.io", [error, error])
    assert status["message"].endswith('is invalid: spec: Invalid value: "object": no')
    assert len(status["details"]["causes"]) == 2
