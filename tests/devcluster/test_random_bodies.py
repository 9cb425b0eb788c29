"""Random request bodies never cause a server error: every failure is a 4xx Status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from guestbook_devcluster.cluster import DevCluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(240)

CM = "/api/v1/namespaces/default/configmaps"
GB = "/apis/ledger.guestbook.io/v1alpha1/namespaces/default/guestbookentries"
KEYS = [
    "metadata",
    "spec",
    "status",
    "name",
    "labels",
    "finalizers",
    "ownerReferences",
    "apiVersion",
    "kind",
    "data",
    "message",
    "uid",
    "resourceVersion",
    "op",
    "path",
    "value",
    "$patch",
    "containers",
    "generateName",
    "namespace",
]
CONTENT_TYPES = [
    "application/json",
    "application/merge-patch+json",
    "application/json-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "text/plain",
    "",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DevCluster]:
    with DevCluster(job_runner=False) as running:
        with httpx.Client(base_url=running.url, timeout=30) as api:
            crd = yaml.safe_load(
                (Path(__file__).parents[2] / "crds" / "guestbookentries.yaml").read_text()
            )
            api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd)
            api.post(CM, json={"metadata": {"name": "cm"}, "data": {"a": "1"}})
            entry = {
                "apiVersion": "ledger.guestbook.io/v1alpha1",
                "kind": "GuestbookEntry",
                "metadata": {"name": "gb"},
                "spec": {"message": "m"},
            }
            api.post(GB, json=entry)
        yield running


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.sampled_from([CM, f"{CM}/cm", GB, f"{GB}/gb", f"{GB}/gb/status"]),
    method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=json_values,
    manager=st.booleans(),
)
def test_no_body_causes_a_server_error(
    cluster: DevCluster, target: str, method: str, content_type: str, body: Any, manager: bool
) -> None:
    with httpx.Client(base_url=cluster.url, timeout=30) as api:
        response = api.request(
            method,
            target,
            content=json.dumps(body).encode(),
            headers={"Content-Type": content_type},
            params={"fieldManager": "fuzz"} if manager else {},
        )
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["kind"] == "Status"
        for path in (CM, GB):  # the server still answers lists of what is stored
            assert api.get(path).status_code == 200
