"""The chart's RBAC is what the components need, no less and no more, and its pods
pass Pod Security `restricted`: proven on the real control plane.

The chart is installed by Helm in a namespace that enforces Pod Security
`restricted`; the operator (two replicas, so peering is used too), its worker
and audit Jobs and the web UI run as the chart's pods with their
ServiceAccounts' tokens. Entries are signed through the web UI, sealed,
audited and retired, and a `helm upgrade` raises the warm pool (the operator
scales the worker Job) and changes the workers' database URI (the operator
updates the Ledger's database Secret). kube-apiserver's audit log then shows that no call
of theirs was refused, and that every right their Roles grant was used, but
for the few named below with the rare path that needs them.

(The cluster-wide shape, ClusterRoles bound cluster-wide, would act on every
other test's namespace of the session's cluster; its rules are the same
templates, checked when rendered in test_chart_render.py.)
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from chart_manifests import rules_of
from chart_release import RELEASE, Release, wait_until
from guestbook_localcluster.cluster import LocalCluster
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.service_proxy import ServiceProxy

pytestmark = pytest.mark.timeout(600)

ENTRIES = 3
WARM_POOL = {
    "minWorkers": 1,
    "maxWorkers": 2,
    "workerIdleSeconds": 3600,
    "auditIntervalSeconds": 2,
    "retention": {"sealedEntrySeconds": 1},
}
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
Right = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)
# Granted, and needed, but only on paths a healthy run does not take.
UNEXERCISED: dict[str, dict[Right, str]] = {
    "operator": {
        ("ledger.guestbook.io", "guestbookentries", "get"): (
            "entries/admission.py re-reads an entry whose status write was stale"
        ),
        ("ledger.guestbook.io", "ledgers", "get"): (
            "entries/admission.py reads the Ledger of an entry that arrives before Kopf listed them"
        ),
        ("ledger.guestbook.io", "guestbookentries/status", "patch"): (
            "entries/admission.py writes an entry's status only when its Ledger is missing or not"
            " ready, or the entry can never be recorded: Pending is the CRD's default (0097)"
        ),
    },
    "worker": {
        ("ledger.guestbook.io", "guestbookentries", "get"): (
            "audit_job.py reads an entry to report a mismatch on it"
        ),
    },
    "webui": {},
}


@pytest.fixture
def web_ui(release: Release, local_cluster: LocalCluster) -> Iterator[str]:
    """The web UI's Service on a host port (as `kubectl port-forward` would); its URL.
    Each connection goes to a ready pod of the Service as it is then."""
    proxy = ServiceProxy(local_cluster.get, release.namespace, f"{RELEASE}-webui", 0, "http")
    port = proxy.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.stop()


def audit_records(control_plane: ControlPlane, user: str) -> list[dict[str, Any]]:
    """The audit log's records of ``user``'s requests, one per request (the last stage)."""
    needle = json.dumps(user)
    by_id: dict[str, dict[str, Any]] = {}
    # Rotated files first (audit-<time>.log), the current one last.
    rotated = sorted(control_plane.audit_log.parent.glob("audit-*.log"))
    for path in [*rotated, control_plane.audit_log]:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if needle in line:
                    record = json.loads(line)
                    if record["user"]["username"] == user:
                        by_id[record["auditID"]] = record
    return list(by_id.values())


def right(record: dict[str, Any]) -> Right | None:
    """What RBAC decided on: (apiGroup, resource[/subresource], verb); None for
    non-resource requests (discovery, /version: open to every user)."""
    ref = record.get("objectRef")
    if not ref or not ref.get("resource"):
        return None
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    return ref.get("apiGroup", ""), resource, record["verb"]


def refused(record: dict[str, Any]) -> bool:
    decision = (record.get("annotations") or {}).get("authorization.k8s.io/decision")
    return decision == "forbid" or (record.get("responseStatus") or {}).get("code") == 403


def granted(kubectl: Kubectl, role: str) -> set[Right]:
    return set(rules_of(json.loads(kubectl("get", "role", role, "-o", "json"))))


def ledger_status(release: Release) -> dict[str, Any]:
    found = json.loads(release.kubectl("get", "ledger", "guestbook", "-o", "json"))
    return found.get("status") or {}


def test_every_call_allowed_every_grant_used_and_pods_restricted(
    release: Release,
    admin_kubectl: Kubectl,
    control_plane: ControlPlane,
    web_ui: str,
) -> None:
    namespace = release.namespace
    admin_kubectl("label", "namespace", namespace, *(f"{k}={v}" for k, v in RESTRICTED.items()))
    release.install(
        {
            "operator": {"replicas": 2},
            "webui": {"enabled": True},
            "ledger": {"create": True, "spec": WARM_POOL},
        }
    )
    base = web_ui
    wait_until(
        lambda: httpx.get(f"{base}/readyz", timeout=5).status_code == 200,
        timeout=90,
        what="the web UI to be ready",
    )
    names = []
    for n in range(ENTRIES):
        created = httpx.post(
            f"{base}/entries", json={"author": "Ada", "message": f"note {n}"}, timeout=30
        )
        assert created.status_code == 201, created.text
        names.append(created.json()["name"])
    assert httpx.get(f"{base}/api/entries/{names[0]}", timeout=30).status_code == 200
    wait_until(
        lambda: ledger_status(release).get("treeSize") == ENTRIES, timeout=180, what="sealing"
    )
    assert httpx.get(f"{base}/api/ledger", timeout=30).json()["treeSize"] == ENTRIES
    wait_until(lambda: ledger_status(release).get("lastAudit"), timeout=120, what="an audit")
    wait_until(
        lambda: not release.kubectl("get", "gbe", "-o", "name"),
        timeout=120,
        what="sealed entries retired",
    )

    # `helm upgrade`: a warmer pool, and the workers' database URI spelt anew (a rotated
    # password would change it so): the operator scales its Job and updates the Ledger's
    # Secret.
    dsn = f"{release.dsn}?application_name=guestbook-ledger"
    release.install({"worker": {"database": {"dsn": dsn}}, "ledger": {"spec": {"minWorkers": 2}}})

    def worker_parallelism() -> list[int]:
        jobs = json.loads(
            release.kubectl("get", "jobs", "-l", "ledger.guestbook.io/role=worker", "-o", "json")
        )
        return [job["spec"].get("parallelism") for job in jobs["items"]]

    def worker_dsn() -> str:
        secret = json.loads(release.kubectl("get", "secret", "guestbook-database", "-o", "json"))
        return base64.b64decode(secret["data"]["dsn"]).decode()

    wait_until(lambda: worker_parallelism() == [2], timeout=120, what="the Job scaled to 2")
    wait_until(lambda: worker_dsn() == dsn, timeout=120, what="the Ledger's Secret updated")

    # Pod Security `restricted` is enforced here, and admitted every pod of every component.
    plain = release.kubectl.run(
        "run", "plain", "--image=guestbook-ledger-operator:0.1.0", "--dry-run=server", check=False
    )
    assert plain.returncode != 0 and "violates PodSecurity" in plain.stderr, plain.stderr
    for component in ("operator", "webui", "worker", "audit"):
        assert release.pods(component, all_phases=True), f"no {component} pod ran"
    events = json.loads(release.kubectl("get", "events", "-o", "json"))["items"]
    assert not [e["message"] for e in events if "PodSecurity" in e.get("message", "")]

    # Every call allowed; every grant used, or named above with the path that needs it.
    for component, unexercised in UNEXERCISED.items():
        records = audit_records(control_plane, release.account(component))
        assert records, f"{component} made no API call"
        denied = [
            f"{r['verb']} {r['requestURI']} ({r['responseStatus'].get('code')})"
            for r in records
            if refused(r)
        ]
        assert denied == [], f"{component} was refused: {denied}"
        used = {found for r in records if (found := right(r)) is not None}
        rights = granted(release.kubectl, f"{RELEASE}-{component}")
        assert used <= rights, f"{component} used rights not granted: {used - rights}"
        # The named ones are paths a run may or may not take (timing); they must be granted.
        assert set(unexercised) <= rights, f"{component}: named but not granted"
        assert rights - used <= set(unexercised), (
            f"{component}: never used {sorted(rights - used - set(unexercised))}"
        )


def test_the_audit_log_names_each_request_by_its_service_account(
    kubectl: Kubectl, namespace: str, control_plane: ControlPlane
) -> None:
    """The log the test above reads: a ServiceAccount's request appears under its name,
    with the resource, the verb and RBAC's decision (here a refusal)."""
    kubectl("create", "serviceaccount", "reader")
    token = kubectl("create", "token", "reader").strip()
    response = httpx.get(
        f"{control_plane.server_url}/api/v1/namespaces/{namespace}/secrets",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(control_plane.pki.ca_cert)),
        timeout=30,
    )
    assert response.status_code == 403
    user = f"system:serviceaccount:{namespace}:reader"
    records = wait_until(
        lambda: audit_records(control_plane, user), timeout=30, what="the audit record"
    )
    assert [(right(r), refused(r)) for r in records] == [(("", "secrets", "list"), True)]
