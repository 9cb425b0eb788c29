"""A Job created with generateName is named before defaulting, as kube-apiserver
does: its pods' template carries the job-name labels, and its parallelism can be
patched (the operator scales its worker Jobs so)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster

pytestmark = pytest.mark.timeout(60)

JOBS = "/apis/batch/v1/namespaces/default/jobs"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def api() -> Iterator[httpx.Client]:
    with (
        DevCluster(job_runner=False) as cluster,
        httpx.Client(
            base_url=cluster.url, headers={"Authorization": f"Bearer {cluster.token}"}
        ) as http,
    ):
        yield http


def _job(generate_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": generate_name},
        "spec": {
            "parallelism": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "work", "image": "example/work:1", "args": ["x"]}],
                }
            },
        },
    }


def test_a_generated_job_name_labels_its_pods_and_its_parallelism_can_be_patched(
    api: httpx.Client,
) -> None:
    created = api.post(JOBS, json=_job("work-"))
    assert created.status_code == 201, created.text
    name = created.json()["metadata"]["name"]
    assert name.startswith("work-") and len(name) == len("work-") + 5
    labels = created.json()["spec"]["template"]["metadata"]["labels"]
    assert labels["job-name"] == labels["batch.kubernetes.io/job-name"] == name

    scaled = api.patch(f"{JOBS}/{name}", json={"spec": {"parallelism": 3}}, headers=MERGE)
    assert scaled.status_code == 200, scaled.text
    assert scaled.json()["spec"]["parallelism"] == 3

    template = _job("")["spec"]["template"]
    template["spec"]["containers"][0]["args"] = ["y"]
    refused = api.patch(f"{JOBS}/{name}", json={"spec": {"template": template}}, headers=MERGE)
    assert refused.status_code == 422
    assert "spec.template" in refused.json()["message"]


def test_a_long_generate_name_is_cut_to_leave_room_for_the_suffix(api: httpx.Client) -> None:
    created = api.post(JOBS, json=_job("w" * 70))
    assert created.status_code == 201, created.text
    name = created.json()["metadata"]["name"]
    assert len(name) == 63
    assert name.startswith("w" * 58)
