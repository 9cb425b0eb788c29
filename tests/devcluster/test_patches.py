"""The patch formats as pure functions: RFC 7386, RFC 6902 and strategic merge."""

from __future__ import annotations

from typing import Any

import pytest
from guestbook_devcluster.patches import (
    PatchError,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

POD: dict[str, Any] = {
    "metadata": {"name": "p", "finalizers": ["a"], "labels": {"x": "1"}},
    "spec": {
        "containers": [
            {
                "name": "main",
                "image": "python:3.11",
                "env": [{"name": "A", "value": "1"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "side", "image": "busybox"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
        "tolerations": [{"key": "a"}],
    },
}


def test_merge_patch_sets_and_removes() -> None:
    patched = merge_patch(POD, {"metadata": {"labels": {"x": None, "y": "2"}}, "spec": None})
    assert patched["metadata"]["labels"] == {"y": "2"}
    assert "spec" not in patched
    assert POD["metadata"]["labels"] == {"x": "1"}  # the input is not changed


def test_json_patch_operations_and_failed_test_changes_nothing() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    result = json_patch(
        doc,
        [
            {"op": "test", "path": "/c", "value": "x"},
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "replace", "path": "/a/b/0", "value": 0},
            {"op": "copy", "from": "/c", "path": "/d"},
            {"op": "move", "from": "/c", "path": "/e"},
            {"op": "remove", "path": "/a/b/1"},
            {"op": "add", "path": "/with~1slash", "value": True},
        ],
    )
    assert result == {"a": {"b": [0, 3]}, "d": "x", "e": "x", "with/slash": True}
    with pytest.raises(PatchError, match="testing value"):
        json_patch(
            doc,
            [
                {"op": "add", "path": "/z", "value": 1},
                {"op": "test", "path": "/c", "value": "other"},
            ],
        )
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}
    for bad in (
        [{"op": "remove", "path": "/missing"}],
        [{"op": "jump", "path": "/a"}],
        {"op": "add"},
        [{"op": "replace", "path": "/a/b/9", "value": 1}],
    ):
        with pytest.raises(PatchError):
            json_patch(doc, bad)


def test_strategic_merge_by_merge_keys() -> None:
    patched = strategic_merge_patch(
        POD,
        {
            "metadata": {"finalizers": ["b"]},
            "spec": {
                "$setElementOrder/containers": [{"name": "main"}, {"name": "side"}],
                "containers": [
                    {
                        "name": "main",
                        "env": [{"name": "B", "value": "2"}],
                        "ports": [{"containerPort": 80, "name": "http"}],
                    },
                    {"name": "new", "image": "alpine"},
                ],
                "tolerations": [{"key": "b"}],
            },
        },
    )
    containers = patched["spec"]["containers"]
    assert [c["name"] for c in containers] == ["main", "side", "new"]
    assert containers[0]["image"] == "python:3.11"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert containers[0]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"}]
    assert patched["metadata"]["finalizers"] == ["a", "b"]  # merged as a set
    assert patched["spec"]["tolerations"] == [{"key": "b"}]  # no merge key: replaced


def test_strategic_merge_directives() -> None:
    patched = strategic_merge_patch(
        POD,
        {
            "spec": {
                "containers": [{"name": "side", "$patch": "delete"}],
                "volumes": [{"name": "cache", "emptyDir": {}}, {"$patch": "replace"}],
            },
            "metadata": {
                "labels": {"$patch": "replace", "z": "9"},
                "$deleteFromPrimitiveList/finalizers": ["a"],
            },
        },
    )
    assert [c["name"] for c in patched["spec"]["containers"]] == ["main"]
    assert patched["spec"]["volumes"] == [{"name": "cache", "emptyDir": {}}]
    assert patched["metadata"]["labels"] == {"z": "9"}
    assert patched["metadata"]["finalizers"] == []
    retained = strategic_merge_patch(
        {"spec": {"strategy": {"type": "Rolling", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
    )
    assert retained == {"spec": {"strategy": {"type": "Recreate"}}}
    with pytest.raises(PatchError, match="merge key"):
        strategic_merge_patch(POD, {"spec": {"containers": [{"image": "x"}]}})
