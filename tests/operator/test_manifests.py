"""Manifests of the worker and audit Jobs and of the Ledger's Secrets."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from guestbook_kube.resources import LABEL_LEDGER, LABEL_ROLE
from guestbook_operator.config import (
    ConfigError,
    PodConfig,
    TimerIntervals,
    load_config,
    load_pod_config,
)
from guestbook_operator.manifests import (
    WorkerDatabase,
    audit_job,
    database_secret,
    made_by_operator,
    signing_key_secret,
    signing_key_secret_name,
    worker_database,
    worker_job,
)

LEDGER: dict[str, Any] = {
    "apiVersion": "ledger.guestbook.io/v1alpha1",
    "kind": "Ledger",
    "metadata": {"name": "book", "namespace": "team", "uid": "u-1"},
    "spec": {
        "minWorkers": 0,
        "maxWorkers": 4,
        "entriesPerWorker": 50,
        "workerIdleSeconds": 7,
        "batch": {"maxEntries": 300, "maxWaitSeconds": 0.5},
    },
}
CONFIG = load_config(
    {
        "GUESTBOOK_DSN": "postgresql://op@db/ledger",
        "GUESTBOOK_WORKER_DSN": "postgresql://worker@db/ledger",
        "GUESTBOOK_WORKER_COMMAND": "/opt/venv/bin/guestbook-ledger",
        "GUESTBOOK_WORKER_SERVICE_ACCOUNT": "ledger-worker",
        "GUESTBOOK_WORKER_ENV_PYTHONUNBUFFERED": "1",
    }
)


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode("utf-8") for k, v in secret["data"].items()}


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("valueFrom", e.get("value")) for e in container["env"]}


def test_worker_job_runs_worker_for_its_ledger_with_parallelism() -> None:
    job = worker_job(LEDGER, CONFIG, parallelism=3)
    assert job["kind"] == "Job"
    assert job["metadata"]["namespace"] == "team"
    assert job["metadata"]["generateName"] == "book-worker-"
    assert job["spec"]["parallelism"] == 3
    assert "completions" not in job["spec"]  # work-queue pattern
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/opt/venv/bin/guestbook-ledger"]
    args = container["args"]
    assert args[:3] == ["worker", "--ledger", "team/book"]
    assert args[args.index("--batch-size") + 1] == "300"
    assert args[args.index("--max-wait") + 1] == "0.5"
    assert args[args.index("--idle-seconds") + 1] == "7.0"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "ledger-worker"
    assert job["spec"]["backoffLimit"] == 6
    assert job["spec"]["ttlSecondsAfterFinished"] == 300


def test_worker_job_is_owned_by_and_labelled_for_the_ledger() -> None:
    job = worker_job(LEDGER, CONFIG, parallelism=1)
    [owner] = job["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "name": "book",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        assert labels[LABEL_LEDGER] == "book"
        assert labels[LABEL_ROLE] == "worker"


def test_worker_secrets_come_from_secret_refs_never_inline() -> None:
    env = env_of(worker_job(LEDGER, CONFIG, parallelism=1))
    assert env["GUESTBOOK_DSN"] == {"secretKeyRef": {"name": "book-database", "key": "dsn"}}
    assert env["GUESTBOOK_SIGNING_KEY"] == {
        "secretKeyRef": {"name": "book-signing-key", "key": "private-key"}
    }
    assert env["PYTHONUNBUFFERED"] == "1"
    assert "postgresql://" not in str(worker_job(LEDGER, CONFIG, parallelism=1))


def test_named_signing_key_secret_is_used() -> None:
    ledger = {**LEDGER, "spec": {**LEDGER["spec"], "signingKeySecret": {"name": "hsm-export"}}}
    assert signing_key_secret_name(ledger) == "hsm-export"
    env = env_of(worker_job(ledger, CONFIG, parallelism=1))
    assert env["GUESTBOOK_SIGNING_KEY"]["secretKeyRef"]["name"] == "hsm-export"


def test_worker_job_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="parallelism"):
        worker_job(LEDGER, CONFIG, parallelism=0)


def test_audit_job_has_no_signing_key() -> None:
    job = audit_job(LEDGER, CONFIG)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["audit-job", "--ledger", "team/book"]
    assert job["metadata"]["labels"][LABEL_ROLE] == "audit"
    assert "GUESTBOOK_SIGNING_KEY" not in env_of(job)
    assert job["spec"]["parallelism"] == 1


def test_the_database_secret_is_owned_by_the_ledger_the_signing_key_is_not() -> None:
    dsn = database_secret(LEDGER, CONFIG.worker_dsn)
    assert decoded(dsn) == {"dsn": "postgresql://worker@db/ledger"}
    assert dsn["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    key = signing_key_secret(LEDGER, "PRIV", "PUB", "ab" * 32)
    assert key["metadata"]["name"] == "book-signing-key"
    assert decoded(key) == {"private-key": "PRIV", "public-key": "PUB"}
    # The key outlives the Ledger object, as the ledger does in the database.
    assert "ownerReferences" not in key["metadata"]
    assert key["metadata"]["annotations"]["ledger.guestbook.io/key-id"] == "ab" * 32
    for secret in (dsn, key):
        assert made_by_operator(secret["metadata"]["labels"], LEDGER)
    assert not made_by_operator({}, LEDGER)
    other = {**LEDGER, "metadata": {**LEDGER["metadata"], "name": "other"}}
    assert not made_by_operator(key["metadata"]["labels"], other)


def test_long_ledger_names_give_valid_job_names() -> None:
    ledger = {**LEDGER, "metadata": {**LEDGER["metadata"], "name": "x" * 200}}
    job = worker_job(ledger, CONFIG, parallelism=1)
    # generateName adds 5 characters; a Job name must fit a 63-character label.
    assert len(job["metadata"]["generateName"]) + 5 <= 63
    assert len(job["metadata"]["labels"][LABEL_LEDGER]) <= 63


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GUESTBOOK_DSN is not set"),
        ({"GUESTBOOK_DSN": "x", "GUESTBOOK_JOB_BACKOFF_LIMIT": "many"}, "whole number"),
        ({"GUESTBOOK_DSN": "x", "GUESTBOOK_REPAIR_INTERVAL": "0"}, "more than 0"),
        ({"GUESTBOOK_DSN": "x", "GUESTBOOK_WITNESS_RETRY_INTERVAL": "soon"}, "number of seconds"),
        ({"GUESTBOOK_DSN": "x", "GUESTBOOK_WORKER_COMMAND": "  "}, "empty"),
    ],
)
def test_bad_config_is_one_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env)


def test_pods_read_their_settings_in_one_place() -> None:
    env = {"GUESTBOOK_DSN": "postgresql://w@db/l", "GUESTBOOK_JOB_NAME": "audit-x"}
    assert load_pod_config(signing_key=False, env=env) == PodConfig(
        dsn="postgresql://w@db/l", job_name="audit-x"
    )
    with pytest.raises(ConfigError, match="GUESTBOOK_SIGNING_KEY is not set"):
        load_pod_config(signing_key=True, env=env)
    with pytest.raises(ConfigError, match="GUESTBOOK_DSN is not set"):
        load_pod_config(signing_key=False, env={})
    timers = load_config({"GUESTBOOK_DSN": "x", "GUESTBOOK_REPAIR_INTERVAL": "2"}).timers
    assert timers == TimerIntervals(repair_seconds=2.0, witness_retry_seconds=10.0)


def test_workers_never_get_the_operator_dsn_by_default() -> None:
    config = load_config({"GUESTBOOK_DSN": "postgresql://a:secret@b/c"})
    assert config.worker_dsn == ""
    assert config.worker_command == ("guestbook-ledger",)
    assert worker_database(LEDGER, config) == WorkerDatabase("", "dsn", managed=False)


def test_where_workers_find_their_database_secret() -> None:
    assert worker_database(LEDGER, CONFIG) == WorkerDatabase("book-database", "dsn", managed=True)
    by_name = load_config({"GUESTBOOK_DSN": "x", "GUESTBOOK_WORKER_DATABASE_SECRET": "db"})
    assert worker_database(LEDGER, by_name) == WorkerDatabase("db", "dsn", managed=False)
    named = {**LEDGER, "spec": {**LEDGER["spec"], "databaseSecret": {"name": "mine", "key": "u"}}}
    for config in (CONFIG, by_name):
        assert worker_database(named, config) == WorkerDatabase("mine", "u", managed=False)
    for job in (worker_job(named, CONFIG, parallelism=1), audit_job(named, CONFIG)):
        assert env_of(job)["GUESTBOOK_DSN"] == {"secretKeyRef": {"name": "mine", "key": "u"}}


RESTRICTED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


@pytest.mark.parametrize(
    "make", [lambda c: worker_job(LEDGER, c, 2), lambda c: audit_job(LEDGER, c)]
)
def test_worker_and_audit_pods_are_restricted_and_sized_by_default(make: Any) -> None:
    pod = make(CONFIG)["spec"]["template"]["spec"]
    assert pod["securityContext"] == RESTRICTED_POD
    [container] = pod["containers"]
    assert container["securityContext"] == RESTRICTED_CONTAINER
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }


def test_pod_security_and_resources_come_from_the_environment() -> None:
    config = load_config(
        {
            "GUESTBOOK_DSN": "postgresql://op@db/ledger",
            "GUESTBOOK_WORKER_RESOURCES": '{"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}',
            "GUESTBOOK_WORKER_POD_SECURITY_CONTEXT": '{"runAsNonRoot": true, "runAsUser": 4242}',
            "GUESTBOOK_WORKER_SECURITY_CONTEXT": "{}",
        }
    )
    pod = worker_job(LEDGER, config, parallelism=1)["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 4242}
    [container] = pod["containers"]
    assert container["resources"] == {"requests": {"cpu": "2"}, "limits": {"memory": "1Gi"}}
    assert "securityContext" not in container  # {} says: none
    # Each Job gets its own copy: changing one manifest changes no other.
    pod["securityContext"]["runAsUser"] = 0
    again = worker_job(LEDGER, config, parallelism=1)["spec"]["template"]["spec"]
    assert again["securityContext"]["runAsUser"] == 4242


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("GUESTBOOK_WORKER_RESOURCES", "cpu=1", "must be a JSON object"),
        ("GUESTBOOK_WORKER_RESOURCES", '["requests"]', "must be a JSON object"),
        ("GUESTBOOK_WORKER_RESOURCES", '{"request": {}}', "has unknown keys request; use claims"),
        ("GUESTBOOK_WORKER_SECURITY_CONTEXT", "true", "must be a JSON object"),
    ],
)
def test_malformed_pod_settings_name_the_variable(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} {message}"):
        load_config({"GUESTBOOK_DSN": "x", name: raw})


def test_readiness_endpoint_is_off_unless_a_port_is_given() -> None:
    assert load_config({"GUESTBOOK_DSN": "x"}).readiness_port == 0
    config = load_config({"GUESTBOOK_DSN": "x", "GUESTBOOK_READINESS_PORT": "8081"})
    assert (config.readiness_address, config.readiness_port) == ("127.0.0.1", 8081)
    with pytest.raises(ConfigError, match="GUESTBOOK_READINESS_PORT must be a whole number"):
        load_config({"GUESTBOOK_DSN": "x", "GUESTBOOK_READINESS_PORT": "ready"})
