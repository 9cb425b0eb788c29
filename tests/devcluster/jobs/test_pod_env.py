"""Environment resolution of a container, as the kubelet does it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from guestbook_devcluster.jobrunner.pod_env import EnvError, expand, resolve_env

POD: dict[str, Any] = {
    "metadata": {
        "name": "worker-abcde",
        "namespace": "team",
        "uid": "1234",
        "labels": {"app": "ledger"},
        "annotations": {"batch.kubernetes.io/job-completion-index": "3"},
    },
    "spec": {"serviceAccountName": "hasher"},
}
OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("Secret", "team", "db"): {"data": {"password": base64.b64encode(b"s3cret").decode()}},
    ("ConfigMap", "team", "settings"): {"data": {"LEVEL": "debug", "MODE": "fast"}},
}


async def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, namespace, name))


async def test_values_refs_fields_and_env_from_resolve_in_order() -> None:
    container = {
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "APP_"}],
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {
                "name": "LEVEL",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LEVEL"}},
            },
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "URL", "value": "db://$(POD).$(NS):$$5432/$(MISSING)"},
            {"name": "APP_MODE", "value": "slow"},
        ],
    }
    env = await resolve_env(POD, container, lookup)
    assert env == {
        "APP_LEVEL": "debug",
        "APP_MODE": "slow",
        "PASSWORD": "s3cret",
        "LEVEL": "debug",
        "POD": "worker-abcde",
        "NS": "team",
        "UID": "1234",
        "APP": "ledger",
        "URL": "db://worker-abcde.team:$5432/$(MISSING)",
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"secretKeyRef": {"name": "nope", "key": "k"}}, 'secret "nope" not found'),
        ({"configMapKeyRef": {"name": "settings", "key": "K"}}, "couldn't find key K"),
        ({"fieldRef": {"fieldPath": "spec.containers"}}, "unsupported fieldRef"),
    ],
)
async def test_missing_references_say_what_is_missing(entry: dict[str, Any], message: str) -> None:
    container = {"env": [{"name": "X", "valueFrom": entry}]}
    with pytest.raises(EnvError, match=message):
        await resolve_env(POD, container, lookup)


async def test_optional_references_are_skipped() -> None:
    container = {
        "envFrom": [{"secretRef": {"name": "nope", "optional": True}}],
        "env": [
            {
                "name": "X",
                "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}},
            }
        ],
    }
    assert await resolve_env(POD, container, lookup) == {}


def test_expand_leaves_unknown_references_and_unescapes_dollars() -> None:
    assert expand("$(A)-$$(A)-$(B)", {"A": "x"}) == "x-$(A)-$(B)"
