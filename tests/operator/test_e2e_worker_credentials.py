"""Worker credentials, end to end (decisions 0130, 0131): worker and audit pods never
get the operator's own database URI; with a worker role of only the grants of the
chart's files/worker-role.sql they seal and audit; a Secret the operator did not
make keeps its data, and the Ledger says why it is not ready."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from audit_trail import AuditTrail
from chart_release import Release, wait_until
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)

WORKER_GRANTS = (
    Path(__file__).resolve().parents[2]
    / "charts"
    / "guestbook-ledger"
    / "files"
    / "worker-role.sql"
)


def ready_condition(system: Release, reason: str) -> dict[str, Any]:
    """The Ledger's Ready condition once it is False with ``reason``."""

    def found() -> dict[str, Any] | None:
        status = get_json(system, "ledger", "guestbook").get("status") or {}
        for condition in status.get("conditions") or []:
            if (condition["type"], condition["status"], condition["reason"]) == (
                "Ready",
                "False",
                reason,
            ):
                return condition  # type: ignore[no-any-return]
        return None

    return wait_until(found, timeout=120, what=f"Ready False with reason {reason}")


def warnings(system: Release, reason: str) -> list[str]:
    events = get_json(system, "events", "--field-selector", f"reason={reason}")["items"]
    return [e["message"] for e in events if e["type"] == "Warning"]


def secret_data(system: Release, name: str) -> dict[str, str]:
    secret = get_json(system, "secret", name)
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def worker_role(dsn: str) -> str:
    """A new login role with exactly the grants of files/worker-role.sql on the test's
    database; its DSN. (Roles are server-wide: a unique name per test.)"""
    role = f"gbw_{uuid.uuid4().hex[:12]}"
    grants = WORKER_GRANTS.read_text(encoding="utf-8").replace("guestbook_worker", role)
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {role} LOGIN")
            cur.execute(grants)
    finally:
        conn.close()
    _, _, host = dsn.removeprefix("postgresql://").partition("@")
    return f"postgresql://{role}@{host}"


def test_workers_never_get_the_operators_credentials_a_worker_role_suffices(
    release: Release,
) -> None:
    # No worker credentials configured: the chart's default.
    release.install({"worker": {"database": {"dsn": ""}}})
    release.start_operator()
    system = release
    system.kubectl("apply", "-f", "-", input=ledger_yaml(auditIntervalSeconds=2))
    condition = ready_condition(system, "WorkerDatabaseNotConfigured")
    assert "spec.databaseSecret" in condition["message"]
    assert any("spec.databaseSecret" in m for m in warnings(system, "WorkerDatabaseNotConfigured"))
    # The operator's URI is in the chart's own Secret only, nowhere it would give pods.
    holders = [
        s["metadata"]["name"]
        for s in get_json(system, "secrets")["items"]
        if system.dsn in json.dumps(secret_data(system, s["metadata"]["name"]))
    ]
    assert holders == ["guestbook-ledger-database"]
    system.kubectl("apply", "-f", "-", input=entries_yaml(3))

    # The user's own Secret with a worker role's URI, named in the Ledger's spec.
    worker_dsn = worker_role(system.dsn)
    system.kubectl("create", "secret", "generic", "worker-db", f"--from-literal=uri={worker_dsn}")
    system.kubectl(
        "patch", "ledger", "guestbook", "--type=merge",
        "-p", json.dumps({"spec": {"databaseSecret": {"name": "worker-db", "key": "uri"}}}),
    )  # fmt: skip
    wait_ledger_ready(system)
    wait_all_sealed(system, 3)
    assert_ledger_intact(system, 3)
    wait_until(
        lambda: (get_json(system, "ledger", "guestbook")["status"].get("lastAudit") or {}).get(
            "verified"
        ),
        timeout=120,
        what="an audit that passes, as the worker role",
    )
    for role in ("worker", "audit"):
        pods = system.pods(role, all_phases=True)
        assert pods, f"no {role} pod ran"
        for pod in pods:
            env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
            assert env["GUESTBOOK_DSN"]["valueFrom"]["secretKeyRef"] == {
                "name": "worker-db",
                "key": "uri",
            }
    # Only the workers' rights: it cannot admit entries or register a key of its own.
    conn = psycopg2.connect(worker_dsn)
    try:
        for statement in (
            "INSERT INTO ledger_keys (ledger_id, key_id, public_key) VALUES (1, '\\x00', '\\x00')",
            "UPDATE entries SET message = 'rewritten'",
            "CREATE TABLE intruder (x int)",
        ):
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn:
                conn.cursor().execute(statement)
    finally:
        conn.close()


def test_a_secret_the_operator_did_not_make_keeps_its_data_and_the_ledger_says_why(
    system: Release, audit: AuditTrail
) -> None:
    theirs = "postgresql://someone-else@db.example/other"
    system.kubectl(
        "create", "secret", "generic", "guestbook-database", f"--from-literal=dsn={theirs}"
    )
    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    condition = ready_condition(system, "SecretNotOwned")
    assert "'guestbook-database'" in condition["message"]
    assert any("'guestbook-database'" in m for m in warnings(system, "SecretNotOwned"))
    system.kubectl("apply", "-f", "-", input=entries_yaml(2))
    # Provisioning is retried every 10 s: let it try again before looking.
    wait_until(
        lambda: system.operator_log().count("that the operator did not make") >= 2,
        timeout=90,
        what="provisioning to have been tried twice",
    )
    assert secret_data(system, "guestbook-database") == {"dsn": theirs}
    assert not system.pods("worker", all_phases=True)
    # The API server's word for it: the operator read that Secret, and never wrote it.
    audit.calls("get", "secrets")
    operators = {
        c.verb
        for c in audit.all_calls()
        if (c.resource, c.name, c.username)
        == ("secrets", "guestbook-database", system.account("operator"))
    }
    assert operators == {"get"}

    # Its owner moves it away: the operator makes its own, and the Ledger works.
    system.kubectl("delete", "secret", "guestbook-database")
    wait_ledger_ready(system)
    wait_all_sealed(system, 2)
    mine = get_json(system, "secret", "guestbook-database")["metadata"]
    assert mine["labels"]["app.kubernetes.io/managed-by"] == "guestbook-operator"
    assert [o["kind"] for o in mine["ownerReferences"]] == ["Ledger"]
    assert secret_data(system, "guestbook-database") == {"dsn": system.dsn}
