"""Tables as kubectl get receives them, and the JSONPath subset of printer columns."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from guestbook_devcluster.schema.jsonpath import JSONPathError, find
from guestbook_devcluster.schema.tables import default_columns, human_duration, to_table

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
DOC: dict[str, Any] = {
    "metadata": {"name": "n", "annotations": {"a.b/c": "v"}},
    "spec": {"items": [{"n": 1, "k": "x"}, {"n": 2}]},
    "status": {
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Verified", "status": "False", "reason": "Mismatch"},
        ]
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (".metadata.name", ["n"]),
        ("{.metadata.name}", ["n"]),
        ("$.metadata.name", ["n"]),
        (".metadata.annotations['a.b/c']", ["v"]),
        ('.status.conditions[?(@.type=="Verified")].status', ["False"]),
        (".status.conditions[?(@.type == 'Ready')].status", ["True"]),
        (".status.conditions[?(@.type!='Ready')].type", ["Verified"]),
        (".status.conditions[?(@.reason)].type", ["Verified"]),
        (".spec.items[?(@.n > 1)].n", [2]),
        (".spec.items[*].n", [1, 2]),
        (".spec.items[0].k", ["x"]),
        (".spec.items[-1].n", [2]),
        (".spec.items[7].n", []),
        ("..n", [1, 2]),
        (".missing.deeper", []),
    ],
)
def test_jsonpath_subset(expression: str, expected: list[Any]) -> None:
    assert find(expression, DOC) == expected


@pytest.mark.parametrize("expression", [".a[", ".a[?(@.x ~ 1)]", ".a b", "[foo bar]"])
def test_jsonpath_rejects_what_it_cannot_parse(expression: str) -> None:
    with pytest.raises(JSONPathError):
        find(expression, DOC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (59, "59s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600 + 60, "3h1m"),
        (9 * 3600, "9h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400 + 86400, "3y1d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubectl_ages(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def sealed_entry(name: str, index: int) -> dict[str, Any]:
    return {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "GuestbookEntry",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": "2026-11-25T11:55:00Z",
        },
        "spec": {"author": "ada", "message": "hello", "ledger": "guestbook"},
        "status": {"phase": "Sealed", "leafIndex": index, "leafHash": "ab" * 32},
    }


def test_crd_columns_follow_the_implicit_name_column(entry_crd: dict[str, Any]) -> None:
    columns = entry_crd["spec"]["versions"][0]["additionalPrinterColumns"]
    table = to_table(
        columns,
        [sealed_entry("e1", 0), sealed_entry("e2", 1)],
        resource_version="42",
        continue_token="next",
        now=NOW,
    )
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42", "continue": "next"}
    definitions = table["columnDefinitions"]
    assert [(d["name"], d["type"], d["priority"]) for d in definitions] == [
        ("Name", "string", 0),
        ("Author", "string", 0),
        ("Phase", "string", 0),
        ("Index", "integer", 0),
        ("Hash", "string", 0),
        ("Age", "date", 0),
        ("Message", "string", 1),
    ]
    assert definitions[0]["format"] == "name"
    assert definitions[1]["description"] == "Who signed the guestbook."
    assert table["rows"][1]["cells"] == ["e2", "ada", "Sealed", 1, "ab" * 32, "5m", "hello"]
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": sealed_entry("e1", 0)["metadata"],
    }


def test_missing_values_are_null_cells_and_filters_pick_conditions(
    ledger_crd: dict[str, Any],
) -> None:
    columns = ledger_crd["spec"]["versions"][0]["additionalPrinterColumns"]
    ledger = {
        "metadata": {"name": "guestbook", "creationTimestamp": "2026-11-25T09:00:00Z"},
        "status": {
            "treeSize": 3,
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Verified", "status": "False"},
            ],
        },
    }
    (row,) = to_table(columns, [ledger], now=NOW)["rows"]
    assert row["cells"] == ["guestbook", 3, None, None, None, "False", "3h", None]


def test_crd_without_columns_gets_age_and_include_object_modes() -> None:
    entry = sealed_entry("e", 0)
    table = to_table([], [entry], include_object="Object", now=NOW)
    assert [d["name"] for d in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0] == {"cells": ["e", "5m"], "object": entry}
    table = to_table([], [entry], include_object="None", now=NOW)
    assert table["rows"][0] == {"cells": ["e", "5m"]}


def test_typed_cells_and_descriptions_default_to_the_jsonpath() -> None:
    columns = [
        {"name": "Count", "type": "integer", "jsonPath": ".spec.count"},
        {"name": "Ratio", "type": "number", "jsonPath": ".spec.count"},
        {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
        {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
        {"name": "When", "type": "date", "jsonPath": ".spec.when"},
    ]
    obj = {
        "metadata": {"name": "x"},
        "spec": {"count": 2.0, "on": True, "tags": ["a"], "when": "x"},
    }
    table = to_table(columns, [obj], now=NOW)
    assert table["rows"][0]["cells"] == ["x", 2, 2.0, True, '["a"]', "<invalid>"]
    assert table["columnDefinitions"][1]["description"] == (
        "Custom resource definition column (in JSONPath format): .spec.count"
    )


def pod(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "worker-abc", "creationTimestamp": "2026-11-25T11:58:00Z"},
        "spec": {"containers": [{"name": "worker"}], "nodeName": "devcluster"},
        "status": {"podIP": "127.0.0.1", **status},
    }


def test_pod_columns_like_kubectl_get_pods() -> None:
    running = pod(
        phase="Running",
        containerStatuses=[{"ready": True, "restartCount": 0, "state": {"running": {}}}],
    )
    done = pod(
        phase="Succeeded",
        containerStatuses=[
            {"ready": False, "restartCount": 0, "state": {"terminated": {"reason": "Completed"}}}
        ],
    )
    failed = pod(
        phase="Failed",
        containerStatuses=[
            {
                "ready": False,
                "restartCount": 2,
                "state": {"terminated": {"exitCode": 3}},
                "lastState": {"terminated": {"finishedAt": "2026-11-25T11:59:00Z"}},
            }
        ],
    )
    pending = pod(phase="Pending")
    table = to_table(default_columns("Pod"), [running, done, failed, pending], now=NOW)
    assert [d["name"] for d in table["columnDefinitions"] if d["priority"] == 0] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert [r["cells"][:6] for r in table["rows"]] == [
        ["worker-abc", "1/1", "Running", "0", "2m", "127.0.0.1"],
        ["worker-abc", "0/1", "Completed", "0", "2m", "127.0.0.1"],
        ["worker-abc", "0/1", "ExitCode:3", "2 (60s ago)", "2m", "127.0.0.1"],
        ["worker-abc", "0/1", "Pending", "0", "2m", "127.0.0.1"],
    ]
    assert table["rows"][0]["cells"][6] == "devcluster"


def test_job_and_namespace_columns() -> None:
    job = {
        "metadata": {"name": "seal", "creationTimestamp": "2026-11-25T11:00:00Z"},
        "spec": {
            "parallelism": 3,
            "template": {"spec": {"containers": [{"name": "w", "image": "python"}]}},
            "selector": {"matchLabels": {"job-name": "seal"}},
        },
        "status": {"startTime": "2026-11-25T11:00:00Z", "succeeded": 1},
    }
    complete = {
        **job,
        "spec": {"completions": 1},
        "status": {
            "startTime": "2026-11-25T11:00:00Z",
            "completionTime": "2026-11-25T11:00:42Z",
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    }
    table = to_table(default_columns("Job"), [job, complete], now=NOW)
    assert [r["cells"] for r in table["rows"]] == [
        ["seal", "Running", "1/1 of 3", "60m", "60m", "w", "python", "job-name=seal"],
        ["seal", "Complete", "1/1", "42s", "60m", "", "", "<none>"],
    ]
    namespace = {"metadata": {"name": "default"}, "status": {"phase": "Active"}}
    (row,) = to_table(default_columns("Namespace"), [namespace], now=NOW)["rows"]
    assert row["cells"] == ["default", "Active", "<unknown>"]


def test_event_columns_put_last_seen_first() -> None:
    event = {
        "metadata": {"name": "e.1", "creationTimestamp": "2026-11-25T11:59:30Z"},
        "type": "Warning",
        "reason": "Mismatch",
        "message": "leaf 3 differs",
        "involvedObject": {"kind": "Ledger", "name": "guestbook"},
        "source": {"component": "guestbook-operator"},
        "lastTimestamp": "2026-11-25T11:59:30Z",
        "count": 2,
    }
    (row,) = to_table(default_columns("Event"), [event], now=NOW)["rows"]
    assert row["cells"] == [
        "30s",
        "Warning",
        "Mismatch",
        "ledger/guestbook",
        "",
        "guestbook-operator",
        "leaf 3 differs",
        "30s",
        "2",
        "e.1",
    ]


def test_other_builtins_get_name_and_age() -> None:
    columns = default_columns("ServiceAccount")
    assert [c["name"] for c in columns] == ["Name", "Age"]
    table = to_table(columns, [{"metadata": {"name": "default"}}], now=NOW)
    assert table["rows"][0]["cells"] == ["default", "<unknown>"]
