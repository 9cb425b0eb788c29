"""The worker ServiceAccount (decision 0134): a Ledger in a served namespace where the
chart made no worker ServiceAccount says so in its Ready condition, naming the
account and the chart value; once `helm upgrade` adds the namespace to
worker.namespaces, its entries are sealed there."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chart_release import RELEASE, Release, wait_until
from guestbook_localcluster.kubectl import Kubectl
from operator_e2e import entries_yaml, ledger_yaml


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json"))


@pytest.fixture
def other_namespace(admin_kubectl: Kubectl) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin_kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        admin_kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def test_a_ledger_without_its_worker_account_says_what_is_missing(
    release: Release, admin_kubectl: Kubectl, other_namespace: str
) -> None:
    account = f"{RELEASE}-worker"
    there = ["-n", other_namespace]
    release.install(
        {
            "operator": {"watchNamespaces": [release.namespace, other_namespace]},
            "worker": {"namespaces": [release.namespace]},
        }
    )
    release.start_operator()
    try:
        assert admin_kubectl.run("get", "sa", account, *there, check=False).returncode != 0
        admin_kubectl("apply", *there, "-f", "-", input=ledger_yaml())

        def ready() -> dict[str, Any]:
            found = get_json(admin_kubectl, "ledger", "guestbook", *there)
            conditions = (found.get("status") or {}).get("conditions") or []
            return next((c for c in conditions if c["type"] == "Ready"), {})

        condition = wait_until(
            lambda: (c := ready()).get("reason") == "WorkerServiceAccountMissing" and c,
            timeout=120,
            what="Ready False, WorkerServiceAccountMissing",
        )
        assert condition["status"] == "False"
        assert f"'{account}'" in condition["message"]
        assert f"'{other_namespace}'" in condition["message"]
        assert "worker.namespaces" in condition["message"]
        events = get_json(
            admin_kubectl,
            "events",
            *there,
            "--field-selector",
            "reason=WorkerServiceAccountMissing",
        )["items"]
        assert [e["type"] for e in events] == ["Warning"]

        release.install({"worker": {"namespaces": [release.namespace, other_namespace]}})
        admin_kubectl("wait", *there, "--for=condition=Ready", "ledger/guestbook", "--timeout=120s")
        admin_kubectl("apply", *there, "-f", "-", input=entries_yaml(2))

        def sealed() -> int:
            items = get_json(admin_kubectl, "gbe", *there)["items"]
            return sum((i.get("status") or {}).get("phase") == "Sealed" for i in items)

        wait_until(lambda: sealed() == 2, timeout=180, what="entries sealed in the other namespace")
    finally:
        # While the operator runs, which removes Kopf's finalizer.
        admin_kubectl.run("delete", "ledgers", "--all", *there, "--timeout=60s", check=False)
