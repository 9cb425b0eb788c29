"""The Job controller creates no pods for a Job that is being deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.jobrunner.job_controller import JobController
from guestbook_ledger.kube_rest import ApiClient
from job_manifests import python_job

pytestmark = pytest.mark.timeout(60)

JOBS = "/apis/batch/v1/namespaces/default/jobs"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def cluster() -> Iterator[DevCluster]:
    # No job runner: the test drives one controller sync itself, deterministically.
    with DevCluster(job_runner=False) as cluster:
        yield cluster


async def _sync_once(cluster: DevCluster, job: dict[str, Any]) -> None:
    """One controller sync of ``job``, with ``job`` as what its cache holds."""
    client = ApiClient(cluster.url)
    try:
        controller = JobController(client)
        key = ("default", str(job["metadata"]["name"]))
        controller.jobs.store[key] = job
        await controller.sync(key)
    finally:
        await client.aclose()


def test_a_job_with_a_deletion_timestamp_gets_no_pods_even_from_a_stale_cache(
    cluster: DevCluster,
) -> None:
    manifest = python_job("leaving", "print('never')", parallelism=2, completions=2)
    manifest["metadata"]["finalizers"] = ["example.com/hold"]  # keeps it while deleting
    with httpx.Client(base_url=cluster.url, timeout=10) as api:
        created = api.post(JOBS, json=manifest)
        assert created.status_code == 201, created.text
        stale = created.json()  # what a lagging Job watch still shows
        api.delete(f"{JOBS}/leaving").raise_for_status()
        deleting = api.get(f"{JOBS}/leaving").json()
        assert deleting["metadata"]["deletionTimestamp"]

        # The pod watch can deliver a change before the Job watch delivers the
        # deletion: the controller's cache then holds the Job without its timestamp.
        asyncio.run(_sync_once(cluster, stale))
        asyncio.run(_sync_once(cluster, deleting))
        assert api.get(PODS).json()["items"] == []

        # The same sync for a live Job does create its pods (the test can fail).
        alive = python_job("staying", "print('yes')", parallelism=2, completions=2)
        api.post(JOBS, json=alive).raise_for_status()
        asyncio.run(_sync_once(cluster, api.get(f"{JOBS}/staying").json()))
        names = [p["metadata"]["generateName"] for p in api.get(PODS).json()["items"]]
        assert names == ["staying-", "staying-"]
