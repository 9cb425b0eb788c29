"""After an upgrade (decision 0151): a `<ledger>-database` Secret an earlier operator
made, still holding the operator's own database URI, is emptied or given the worker
URI, with a Warning event saying what happened and what the user must provide."""

from __future__ import annotations

import json

from chart_release import Release, wait_until
from operator_e2e import (
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)
from test_e2e_worker_credentials import ready_condition, secret_data, warnings, worker_role


def leave_old_operators_secret(system: Release) -> None:
    """The Ledger ``guestbook`` with the ``guestbook-database`` Secret an operator before
    decision 0130 wrote: its labels, owned by the Ledger, the operator's own URI."""
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    uid = get_json(system, "ledger", "guestbook")["metadata"]["uid"]
    old = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "guestbook-database",
            "labels": {
                "app.kubernetes.io/managed-by": "guestbook-operator",
                "ledger.guestbook.io/ledger": "guestbook",
                "ledger.guestbook.io/role": "worker",
            },
            "ownerReferences": [
                {
                    "apiVersion": "ledger.guestbook.io/v1alpha1",
                    "kind": "Ledger",
                    "name": "guestbook",
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "stringData": {"dsn": system.dsn},
    }
    system.kubectl("apply", "-f", "-", input=json.dumps(old))


def holders_of_operator_uri(system: Release) -> list[str]:
    return [
        s["metadata"]["name"]
        for s in get_json(system, "secrets")["items"]
        if system.dsn in json.dumps(secret_data(system, s["metadata"]["name"]))
    ]


def warning_with(system: Release, reason: str) -> str:
    found = wait_until(
        lambda: warnings(system, reason), timeout=120, what=f"a Warning event {reason}"
    )
    assert len(found) == 1, found
    return found[0]


def test_an_old_copy_of_the_operator_uri_is_removed_and_the_ledger_says_what_to_provide(
    release: Release,
) -> None:
    # Upgraded to a release that gives workers no credentials (the chart's default).
    release.install({"worker": {"database": {"dsn": ""}}, "operator": {"replicas": 0}})
    leave_old_operators_secret(release)
    assert holders_of_operator_uri(release) == ["guestbook-database", "guestbook-ledger-database"]
    release.start_operator()
    system = release
    message = warning_with(system, "OperatorCredentialsRemoved")
    assert "'guestbook-database'" in message
    assert "spec.databaseSecret" in message and "password" in message
    condition = ready_condition(system, "WorkerDatabaseNotConfigured")
    assert "spec.databaseSecret" in condition["message"]
    # The operator's URI is left only in the chart's own Secret, which pods never read.
    assert "dsn" not in secret_data(system, "guestbook-database")
    assert holders_of_operator_uri(system) == ["guestbook-ledger-database"]

    # The user provides what the event asked for: the Ledger works, as the worker role.
    system.kubectl("apply", "-f", "-", input=entries_yaml(2))
    worker_dsn = worker_role(system.dsn)
    system.kubectl("create", "secret", "generic", "worker-db", f"--from-literal=dsn={worker_dsn}")
    system.kubectl(
        "patch", "ledger", "guestbook", "--type=merge",
        "-p", json.dumps({"spec": {"databaseSecret": {"name": "worker-db"}}}),
    )  # fmt: skip
    wait_ledger_ready(system)
    wait_all_sealed(system, 2)
    for pod in system.pods("worker", all_phases=True):
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        assert env["GUESTBOOK_DSN"]["valueFrom"]["secretKeyRef"]["name"] == "worker-db"
    assert len(warnings(system, "OperatorCredentialsRemoved")) == 1  # said once


def test_an_old_copy_of_the_operator_uri_is_replaced_by_the_worker_uri(
    release: Release,
) -> None:
    worker_dsn = worker_role(release.dsn)
    release.install({"worker": {"database": {"dsn": worker_dsn}}, "operator": {"replicas": 0}})
    leave_old_operators_secret(release)
    release.start_operator()
    system = release
    message = warning_with(system, "OperatorCredentialsReplaced")
    assert "'guestbook-database'" in message and "password" in message
    wait_ledger_ready(system)
    assert secret_data(system, "guestbook-database") == {"dsn": worker_dsn}
    assert holders_of_operator_uri(system) == ["guestbook-ledger-database"]
    system.kubectl("apply", "-f", "-", input=entries_yaml(2))
    wait_all_sealed(system, 2)
