"""Secrets: ``stringData`` is write-only, folded into base64 ``data`` as kube-apiserver does."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import yaml
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.kubectl import Kubectl

pytestmark = pytest.mark.timeout(120)

SECRETS = "/api/v1/namespaces/default/secrets"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


def _get(kubectl: Kubectl, name: str) -> dict[str, Any]:
    secret: dict[str, Any] = json.loads(kubectl("get", "secret", name, "-o", "json"))
    return secret


def test_kubectl_create_from_literal_yields_data(kubectl: Kubectl) -> None:
    kubectl("create", "secret", "generic", "lit", "--from-literal=a=b")
    secret = _get(kubectl, "lit")
    assert secret["data"] == {"a": _b64("b")}
    assert "stringData" not in secret
    assert kubectl("get", "secret", "lit", "-o", "jsonpath={.data.a}") == _b64("b")


def test_manifest_string_data_is_folded_into_data_and_never_returned(kubectl: Kubectl) -> None:
    manifest = _secret("man", stringData={"a": "b", "token": "s3cret ✓"}, data={"a": _b64("old")})
    created = json.loads(kubectl("create", "-f", "-", "-o", "json", input=yaml.safe_dump(manifest)))
    # stringData wins over data for the same key, as in Kubernetes.
    expected = {"a": _b64("b"), "token": _b64("s3cret ✓")}
    assert created["data"] == expected and "stringData" not in created
    secret = _get(kubectl, "man")
    assert secret["data"] == expected and "stringData" not in secret
    assert secret["type"] == "Opaque"

    # kubectl apply (a patch computed client-side) and a replace fold stringData too.
    applied = _secret("app", stringData={"a": "one"})
    kubectl("apply", "-f", "-", input=yaml.safe_dump(applied))
    assert _get(kubectl, "app")["data"] == {"a": _b64("one")}
    applied["stringData"] = {"a": "two", "b": "three"}
    kubectl("apply", "-f", "-", input=yaml.safe_dump(applied))
    secret = _get(kubectl, "app")
    assert secret["data"] == {"a": _b64("two"), "b": _b64("three")}
    assert "stringData" not in secret
    secret["stringData"] = {"c": "four"}
    kubectl("replace", "-f", "-", input=json.dumps(secret))
    secret = _get(kubectl, "app")
    assert secret["data"] == {"a": _b64("two"), "b": _b64("three"), "c": _b64("four")}
    assert "stringData" not in secret


def test_patches_and_server_side_apply_fold_string_data(devcluster: DevCluster) -> None:
    with httpx.Client(base_url=devcluster.url, timeout=10) as api:
        api.post(SECRETS, json=_secret("p", data={"a": _b64("1")})).raise_for_status()
        merged = api.patch(
            f"{SECRETS}/p",
            content=b'{"stringData":{"b":"2"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert merged.status_code == 200, merged.text
        assert merged.json()["data"] == {"a": _b64("1"), "b": _b64("2")}
        assert "stringData" not in merged.json()
        strategic = api.patch(
            f"{SECRETS}/p",
            content=b'{"stringData":{"a":"x"}}',
            headers={"Content-Type": "application/strategic-merge-patch+json"},
        )
        assert strategic.status_code == 200, strategic.text
        assert strategic.json()["data"] == {"a": _b64("x"), "b": _b64("2")}
        applied = api.patch(
            f"{SECRETS}/ssa?fieldManager=me",
            content=json.dumps(_secret("ssa", stringData={"k": "v"})).encode(),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        assert applied.status_code == 201, applied.text
        stored = api.get(f"{SECRETS}/ssa").json()
        assert stored["data"] == {"k": _b64("v")} and "stringData" not in stored


def test_string_data_that_is_not_strings_is_refused_and_changes_nothing(
    devcluster: DevCluster,
) -> None:
    with httpx.Client(base_url=devcluster.url, timeout=10) as api:
        refused = api.post(SECRETS, json=_secret("bad", stringData={"a": 1}))
        assert refused.status_code == 422, refused.text
        assert refused.json()["reason"] == "Invalid"
        assert "stringData" in refused.json()["message"]
        assert api.get(f"{SECRETS}/bad").status_code == 404
        api.post(SECRETS, json=_secret("ok", stringData={"a": "b"})).raise_for_status()
        before = api.get(f"{SECRETS}/ok").json()
        patched = api.patch(
            f"{SECRETS}/ok",
            content=b'{"stringData":["a"]}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 422, patched.text
        assert api.get(f"{SECRETS}/ok").json() == before


def test_immutable_secret_refuses_string_data_changes(devcluster: DevCluster) -> None:
    with httpx.Client(base_url=devcluster.url, timeout=10) as api:
        api.post(
            SECRETS, json=_secret("frozen", immutable=True, stringData={"a": "b"})
        ).raise_for_status()
        before = api.get(f"{SECRETS}/frozen").json()
        assert before["data"] == {"a": _b64("b")}
        changed = api.patch(
            f"{SECRETS}/frozen",
            content=b'{"stringData":{"a":"c"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert changed.status_code == 422, changed.text
        same = api.patch(
            f"{SECRETS}/frozen",
            content=b'{"stringData":{"a":"b"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert same.status_code == 200, same.text
        assert api.get(f"{SECRETS}/frozen").json()["data"] == before["data"]
