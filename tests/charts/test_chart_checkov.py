"""checkov (Bridgecrew's Kubernetes policy checks) on what a release runs: 0 failed.

Scanned together, as they meet in a cluster: every object the chart renders,
its `helm test` hooks included, and the worker and audit Jobs the operator
creates with the chart's settings (operator/guestbook_operator/manifests.py).
Each check the chart or the operator deliberately does not pass is skipped on
its object with a `checkov.io/skipN: "CHECK=reason"` annotation (the chart's
templates, and `checkov_skip_annotations` in manifests.py for the Jobs); the
scan skips nothing itself, so a new failing check fails the test.

checkov pins packaging<24, which pytest refuses, so it runs from a virtualenv
of its own that `make tools` (scripts/ensure-tools) makes in the cache.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_manifests import DSN, FULL, NAMESPACE, container, env_of, render
from guestbook_localcluster.upstream import cache_root
from guestbook_operator.config import load_config
from guestbook_operator.manifests import audit_job, worker_job

pytestmark = pytest.mark.timeout(600)

CHECKOV_VERSION = "3.3.30"
DIGEST = "sha256:" + "ab" * 32
# Everything on: metrics, ServiceMonitor-free (needs its CRD), Ingress with TLS, the web UI.
FULL_VALUES: dict[str, Any] = {
    "database": {"dsn": DSN},
    "operator": {"metricsPort": 9090},
    "ingress": {"enabled": True, "tlsSecretName": "guestbook-tls"},
}


def checkov() -> Path:
    """The checkov executable `make tools` installs; AssertionError saying so if absent."""
    path = cache_root() / f"checkov-{CHECKOV_VERSION}" / "bin" / "checkov"
    assert path.is_file(), f"checkov is not installed at {path}: run `make tools`"
    return path


def operator_jobs(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The Jobs the operator makes with the settings the chart gives it."""
    operator = container(render(values).one("Deployment", f"{FULL}-operator"))
    settings = {k: v for k, v in env_of(operator).items() if isinstance(v, str)}
    config = load_config({**settings, "GUESTBOOK_DSN": DSN})
    ledger = {"metadata": {"name": "guestbook", "namespace": NAMESPACE, "uid": "u"}, "spec": {}}
    return [worker_job(ledger, config, parallelism=2), audit_job(ledger, config)]


def scan(values: dict[str, Any], folder: Path) -> dict[str, Any]:
    """checkov's JSON report on the release's objects and the operator's Jobs."""
    chart = render(values)
    folder.mkdir()
    (folder / "chart.yaml").write_text(yaml.safe_dump_all(chart.objects + chart.hooks))
    jobs = operator_jobs(values)
    for job in jobs:  # named, as the API server would name them from generateName
        job["metadata"]["name"] = job["metadata"].pop("generateName") + "x1y2z"
    (folder / "jobs.yaml").write_text(yaml.safe_dump_all(jobs))
    return run_checkov(folder)


def run_checkov(folder: Path) -> dict[str, Any]:
    """checkov's JSON report on the manifests in ``folder``, no check skipped by the scan."""
    done = subprocess.run(
        [str(checkov()), "-d", str(folder), "--framework", "kubernetes", "--skip-download",
         "--output", "json"],
        capture_output=True, text=True, timeout=500, check=False,
    )  # fmt: skip
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report, dict), report  # one framework: one report
    return report


def failures(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["failed_checks"]
    ]


@pytest.mark.parametrize(
    "values",
    [
        {"database": {"dsn": DSN}},
        FULL_VALUES,
        {
            "database": {"cloudnativepg": {"enabled": True}},
            "operator": {"watchNamespaces": ["team-a"], "replicas": 2},
        },
    ],
    ids=["minimal", "everything-on", "cloudnativepg-namespaced"],
)
def test_checkov_finds_no_failure_and_every_skip_says_why(
    values: dict[str, Any], tmp_path: Path
) -> None:
    report = scan(values, tmp_path / "scan")
    assert failures(report) == []
    assert report["summary"]["passed"] > 100
    skipped = report["results"]["skipped_checks"]
    on_jobs = {c["check_id"] for c in skipped if c["file_path"].endswith("jobs.yaml")}
    # The Jobs' own annotations were read (a tag image: the digest check too).
    assert on_jobs == {"CKV_K8S_38", "CKV_K8S_35", "CKV_K8S_15", "CKV_K8S_43"}, skipped
    assert len(skipped) > len(on_jobs), "the chart's skip annotations were not read"
    for check in skipped:
        reason = check.get("check_result", {}).get("suppress_comment", "")
        assert len(reason) > 30, f"{check['check_id']} on {check['resource']}: {reason!r}"


def test_a_job_without_its_skip_annotations_fails_checkov(tmp_path: Path) -> None:
    """The skips are what keeps the Jobs at 0 failed: without them checkov fails them."""
    folder = tmp_path / "scan"
    folder.mkdir()
    jobs = operator_jobs({"database": {"dsn": DSN}})
    for job in jobs:
        job["metadata"]["name"] = job["metadata"].pop("generateName") + "x1y2z"
        del job["metadata"]["annotations"]
    (folder / "jobs.yaml").write_text(yaml.safe_dump_all(jobs))
    found = {check for check, _, _ in failures(run_checkov(folder))}
    assert {"CKV_K8S_38", "CKV_K8S_35", "CKV_K8S_15", "CKV_K8S_43"} <= found, found


def test_pinned_digests_and_always_pull_pass_without_skips(tmp_path: Path) -> None:
    values = {
        "database": {"dsn": DSN},
        "operator": {"image": {"tag": DIGEST, "pullPolicy": "Always"}},
        "webui": {"image": {"tag": DIGEST, "pullPolicy": "Always"}},
    }
    report = scan(values, tmp_path / "scan")
    skipped = {
        (c["check_id"], c["resource"], c["file_path"]) for c in report["results"]["skipped_checks"]
    }
    # The operator's Jobs keep their pull-policy skip (it sets none); the digest one goes.
    assert not [
        s
        for s in skipped
        if s[0] == "CKV_K8S_43" or (s[0] == "CKV_K8S_15" and not s[2].endswith("jobs.yaml"))
    ], skipped
    passed = {(c["check_id"], c["resource"]) for c in report["results"]["passed_checks"]}
    deployments = {r for check, r in passed if check == "CKV_K8S_43" and "Deployment" in r}
    assert deployments == {
        f"Deployment.{NAMESPACE}.{FULL}-operator",
        f"Deployment.{NAMESPACE}.{FULL}-webui",
    }
    # The Jobs too run the worker image by digest: the check passes on them, unskipped.
    assert not [f for f in failures(report) if f[0] == "CKV_K8S_43"]
    jobs = {r for check, r in passed if check == "CKV_K8S_43" and r.endswith("x1y2z")}
    assert len(jobs) == 2, passed
