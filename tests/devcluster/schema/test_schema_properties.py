"""Any JSON a client sends gets an answer, never an exception (property tests)."""

from __future__ import annotations

from typing import Any

import pytest
from crd_fixtures import load_crd
from guestbook_devcluster.schema.defaults import apply_defaults
from guestbook_devcluster.schema.prune import prune, prune_and_report, unknown_fields
from guestbook_devcluster.schema.rules import evaluate_rules
from guestbook_devcluster.schema.structural import validate
from guestbook_devcluster.schema.tables import crd_columns, to_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCHEMAS = [
    load_crd(name)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for name in ("guestbookentries.yaml", "ledgers.yaml")
]
COLUMNS = [
    load_crd(name)["spec"]["versions"][0]["additionalPrinterColumns"]
    for name in ("guestbookentries.yaml", "ledgers.yaml")
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson reads
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Objects shaped like the CRDs' resources, with arbitrary values in their fields.
field_names = st.sampled_from(
    [
        "ledger", "author", "message", "phase", "leafIndex", "leafHash", "conditions",
        "minWorkers", "maxWorkers", "batch", "maxEntries", "type", "status", "extra",
    ]
)  # fmt: skip
shaped = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.dictionaries(st.sampled_from(["name", "labels", "junk"]), json_values),
        "spec": st.dictionaries(field_names, json_values) | json_values,
        "status": st.dictionaries(field_names, json_values) | json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_index=st.integers(0, 1), new=shaped, old=st.none() | shaped)
def test_pipeline_never_raises_and_is_idempotent(
    schema_index: int, new: dict[str, Any], old: dict[str, Any] | None
) -> None:
    schema = SCHEMAS[schema_index]
    unknown = unknown_fields(schema, new)
    pruned = prune(schema, new)
    assert prune_and_report(schema, new) == (pruned, unknown)  # the one-walk form agrees
    assert prune(schema, pruned) == pruned
    assert unknown_fields(schema, pruned) == []
    defaulted = apply_defaults(schema, pruned)
    assert apply_defaults(schema, defaulted) == defaulted
    for error in validate(schema, defaulted) + evaluate_rules(schema, defaulted, old):
        assert error.message().startswith(error.field)
        assert error.to_cause()["reason"] == error.type


@settings(max_examples=200, deadline=None)
@given(schema_index=st.integers(0, 1), obj=shaped)
def test_tables_render_any_object(schema_index: int, obj: dict[str, Any]) -> None:
    columns = crd_columns(COLUMNS[schema_index])
    table = to_table(columns, [obj])
    assert len(table["rows"][0]["cells"]) == len(columns)


@pytest.mark.parametrize("value", [9.3e18, -9.3e18, 2.0**63, 1e300])
def test_integers_beyond_64_bits_are_a_field_error_not_an_exception(value: float) -> None:
    # A float JSON number of integral value passes the integer type check, but no
    # int64 holds it: the client gets a field error (hypothesis found a ValueError).
    ledger = SCHEMAS[1]
    obj = {"spec": {"minWorkers": value, "maxWorkers": 2}}
    problems = validate(ledger, obj) + evaluate_rules(ledger, obj, None)
    assert [e.field for e in problems if e.field == "spec.minWorkers"] == ["spec.minWorkers"]
    assert any("64-bit integer" in e.message() for e in problems)
    evaluate_rules(ledger, obj, {"spec": {"minWorkers": 1, "maxWorkers": 2}})


def test_unsigned_64_bit_integers_in_rules_are_a_field_error_not_an_exception() -> None:
    # orjson reads integers up to 2**64 - 1; CEL ints are int64.
    ledger = SCHEMAS[1]
    obj = {"spec": {"minWorkers": 2**64 - 1, "maxWorkers": 2, "extra": [2**63]}}
    problems = validate(ledger, obj) + evaluate_rules(ledger, obj, None)
    assert "spec.minWorkers" in [e.field for e in problems]
