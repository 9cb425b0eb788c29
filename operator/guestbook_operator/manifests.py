"""Manifests the operator creates: worker and audit Jobs, and the Ledger's Secrets.

Pure functions from a Ledger (as the API returns it) and the operator's
settings to JSON-ready dicts. Jobs and the database Secret the operator writes
are owned by the Ledger (deleted with it); the signing key Secret is not: the
ledger lives on in the database, and a Ledger made again under the same name
signs with the same key (decision 0132).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guestbook_kube.resources import API_VERSION, GROUP, LABEL_LEDGER, LABEL_ROLE

from guestbook_operator.config import OperatorConfig

ROLE_WORKER = "worker"
ROLE_AUDIT = "audit"

SECRET_DSN_KEY = "dsn"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "guestbook-operator"
SECRET_PRIVATE_KEY = "private-key"
SECRET_PUBLIC_KEY = "public-key"

# Job and pod names become label values (job-name): at most 63 characters.
_NAME_PREFIX_MAX = 40


def ledger_ref(ledger: Mapping[str, Any]) -> str:
    """``namespace/name`` of a Ledger, the form the worker's ``--ledger`` takes."""
    meta = ledger["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def owner_reference(ledger: Mapping[str, Any]) -> dict[str, Any]:
    """An ownerReference making the Ledger the controller of an object."""
    meta = ledger["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Ledger",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def ledger_labels(ledger: Mapping[str, Any], role: str) -> dict[str, str]:
    """Labels that find a Ledger's Jobs and pods (``role`` is worker or audit)."""
    return {
        "app.kubernetes.io/name": "guestbook-ledger",
        "app.kubernetes.io/component": role,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_LEDGER: str(ledger["metadata"]["name"])[:63],
        LABEL_ROLE: role,
    }


def role_selector(ledger: Mapping[str, Any], role: str) -> str:
    """A label selector for the Ledger's Jobs (or pods) of ``role``."""
    return f"{LABEL_LEDGER}={str(ledger['metadata']['name'])[:63]},{LABEL_ROLE}={role}"


def database_secret_name(ledger: Mapping[str, Any]) -> str:
    """The Secret the operator writes from ``GUESTBOOK_WORKER_DSN``: ``<ledger>-database``."""
    return f"{ledger['metadata']['name']}-database"


@dataclass(frozen=True)
class WorkerDatabase:
    """Where a Ledger's worker and audit pods find their database URI: Secret
    ``secret``, key ``key``, in the Ledger's namespace. ``managed``: the operator
    writes that Secret (from ``GUESTBOOK_WORKER_DSN``); otherwise the user does.
    ``secret`` is empty when nothing is configured."""

    secret: str
    key: str
    managed: bool


def worker_database(ledger: Mapping[str, Any], config: OperatorConfig) -> WorkerDatabase:
    """The worker database Secret of ``ledger`` (decision 0130), first match of:
    ``spec.databaseSecret``; the operator's ``worker_database_secret``; the
    operator's ``worker_dsn`` through ``<ledger>-database``; else nothing."""
    named = (ledger.get("spec") or {}).get("databaseSecret") or {}
    if named.get("name"):
        return WorkerDatabase(str(named["name"]), str(named.get("key") or SECRET_DSN_KEY), False)
    if config.worker_database_secret:
        return WorkerDatabase(config.worker_database_secret, SECRET_DSN_KEY, False)
    if config.worker_dsn:
        return WorkerDatabase(database_secret_name(ledger), SECRET_DSN_KEY, True)
    return WorkerDatabase("", SECRET_DSN_KEY, False)


def made_by_operator(labels: Mapping[str, str], ledger: Mapping[str, Any]) -> bool:
    """True when a Secret with ``labels`` was made by this operator for this Ledger
    (by name: a Ledger made again under the same name is the same ledger)."""
    return (
        labels.get(LABEL_MANAGED_BY) == MANAGED_BY
        and labels.get(LABEL_LEDGER) == str(ledger["metadata"]["name"])[:63]
    )


def signing_key_secret_name(ledger: Mapping[str, Any]) -> str:
    """The Secret holding the signing key: the one named in spec, else ``<ledger>-signing-key``."""
    named = (ledger.get("spec") or {}).get("signingKeySecret") or {}
    return str(named.get("name") or f"{ledger['metadata']['name']}-signing-key")


def generates_signing_key(ledger: Mapping[str, Any]) -> bool:
    """True when the operator generates the signing key (in ``<ledger>-signing-key``)
    if it is missing: no ``spec.signingKeySecret`` is named."""
    return not ((ledger.get("spec") or {}).get("signingKeySecret") or {}).get("name")


def encoded_secret_data(values: Mapping[str, str]) -> dict[str, str]:
    """Secret ``data``: base64 of UTF-8 (what the API stores ``stringData`` as)."""
    return {
        key: base64.b64encode(value.encode("utf-8")).decode("ascii")
        for key, value in values.items()
    }


def database_secret(ledger: Mapping[str, Any], dsn: str) -> dict[str, Any]:
    """The Secret ``<ledger>-database`` through which worker pods get the worker
    database URI; owned by the Ledger (deleted with it)."""
    secret = _ledger_secret(ledger, database_secret_name(ledger), {SECRET_DSN_KEY: dsn})
    secret["metadata"]["ownerReferences"] = [owner_reference(ledger)]
    return secret


def signing_key_secret(
    ledger: Mapping[str, Any], private_key_pem: str, public_key_pem: str, key_id: str
) -> dict[str, Any]:
    """The Secret holding a generated Ed25519 signing key. Not owned by the Ledger:
    the key must outlive it, as the ledger does in the database (decision 0132)."""
    secret = _ledger_secret(
        ledger,
        signing_key_secret_name(ledger),
        {SECRET_PRIVATE_KEY: private_key_pem, SECRET_PUBLIC_KEY: public_key_pem},
    )
    secret["metadata"]["annotations"] = {
        f"{GROUP}/key-id": key_id,
        f"{GROUP}/backup": "Back this Secret up: without it the ledger cannot be continued "
        "under the same key (charts/guestbook-ledger/README.md, signing keys).",
    }
    return secret


def _ledger_secret(
    ledger: Mapping[str, Any], name: str, values: Mapping[str, str]
) -> dict[str, Any]:
    """A Secret ``name`` holding ``values``, labelled as the operator's for the
    Ledger (how it recognises its own) and for its workers, which read it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": ledger["metadata"]["namespace"],
            "labels": ledger_labels(ledger, ROLE_WORKER),
        },
        "type": "Opaque",
        "data": encoded_secret_data(values),
    }


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _present(key: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """``{key: a copy of value}``, or nothing when ``value`` is empty."""
    return {key: copy.deepcopy(dict(value))} if value else {}


# checkov's checks the Jobs deliberately do not pass, each skipped on the Job
# with its reason (annotation ``checkov.io/skipN: "CHECK=reason"``, decision 0150);
# tests/charts/test_chart_checkov.py requires 0 failed on them. A reason holds no
# "=": checkov splits the annotation on it.
_CHECKOV_SKIPS = (
    "CKV_K8S_38=Workers and audits patch entry and Ledger statuses through the Kubernetes "
    "API as the worker ServiceAccount, so they need its token.",
    "CKV_K8S_35=Workers read the database URI and signing key from GUESTBOOK_DSN and "
    "GUESTBOOK_SIGNING_KEY (secretKeyRef), as every component reads its settings.",
    "CKV_K8S_15=The Jobs leave imagePullPolicy to the cluster's default (IfNotPresent for "
    "tags), so a worker pool scaling up does not ask the registry for every pod.",
)
_CHECKOV_SKIP_TAG = (
    "CKV_K8S_43=The Job runs the worker image the operator is given; pin a digest with the "
    "chart's operator.image.tag to sha256:<hex>, and this check passes."
)


def checkov_skip_annotations(image: str) -> dict[str, str]:
    """checkov's skip annotations for a Job running ``image``: the checks it does not
    pass by design, with reasons; the digest check only while ``image`` is a tag."""
    skips = [*_CHECKOV_SKIPS, *(() if "@sha256:" in image else (_CHECKOV_SKIP_TAG,))]
    return {f"checkov.io/skip{number}": skip for number, skip in enumerate(skips, start=1)}


def _job(
    ledger: Mapping[str, Any],
    config: OperatorConfig,
    *,
    role: str,
    parallelism: int,
    args: list[str],
    env: list[dict[str, Any]],
) -> dict[str, Any]:
    meta = ledger["metadata"]
    labels = ledger_labels(ledger, role)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [
            {
                "name": role,
                "image": config.worker_image,
                "command": list(config.worker_command),
                "args": args,
                "env": [
                    *env,
                    {"name": "PYTHONUNBUFFERED", "value": "1"},  # logs reach `kubectl logs` at once
                    *({"name": k, "value": v} for k, v in sorted(config.extra_env.items())),
                ],
                # Pod Security `restricted` by default (config.py); empty settings are left out.
                **_present("securityContext", config.worker_security_context),
                **_present("resources", config.worker_resources),
            }
        ],
        **_present("securityContext", config.worker_pod_security_context),
    }
    if config.service_account:
        pod_spec["serviceAccountName"] = config.service_account
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": f"{str(meta['name'])[:_NAME_PREFIX_MAX]}-{role}-",
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": checkov_skip_annotations(config.worker_image),
            "ownerReferences": [owner_reference(ledger)],
        },
        "spec": {
            "parallelism": parallelism,
            "backoffLimit": config.job_backoff_limit,
            "ttlSecondsAfterFinished": config.job_ttl_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def worker_job(
    ledger: Mapping[str, Any], config: OperatorConfig, parallelism: int
) -> dict[str, Any]:
    """The Ledger's worker Job: ``parallelism`` pods running ``guestbook-ledger worker``.

    No ``completions``: the work-queue pattern, where the Job completes once
    its pods have drained the queue and exited 0. Requires ``parallelism >= 1``.
    """
    if parallelism < 1:
        raise ValueError(f"a worker Job needs parallelism >= 1, got {parallelism}")
    spec = ledger.get("spec") or {}
    batch = spec.get("batch") or {}
    args = [
        "worker",
        "--ledger",
        ledger_ref(ledger),
        "--batch-size",
        str(int(batch.get("maxEntries", 1000))),
        "--max-wait",
        str(float(batch.get("maxWaitSeconds", 0.2))),
        "--idle-seconds",
        str(float(spec.get("workerIdleSeconds", 10))),
    ]
    database = worker_database(ledger, config)
    env = [
        _secret_env("GUESTBOOK_DSN", database.secret, database.key),
        _secret_env("GUESTBOOK_SIGNING_KEY", signing_key_secret_name(ledger), SECRET_PRIVATE_KEY),
    ]
    return _job(ledger, config, role=ROLE_WORKER, parallelism=parallelism, args=args, env=env)


def audit_job(ledger: Mapping[str, Any], config: OperatorConfig) -> dict[str, Any]:
    """A one-pod Job running ``guestbook-ledger audit-job`` for the Ledger.

    The audit pod needs only the database and the public key (in the Ledger's
    status), never the signing key.
    """
    args = ["audit-job", "--ledger", ledger_ref(ledger)]
    database = worker_database(ledger, config)
    env = [
        _secret_env("GUESTBOOK_DSN", database.secret, database.key),
        # The Job's name (generated) for status.lastAudit.job.
        {
            "name": "GUESTBOOK_JOB_NAME",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['job-name']"}},
        },
    ]
    job = _job(ledger, config, role=ROLE_AUDIT, parallelism=1, args=args, env=env)
    # A failed audit is reported, not retried in a loop: the next interval runs again.
    job["spec"]["backoffLimit"] = 1
    return job
