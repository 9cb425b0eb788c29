"""Helpers of the end-to-end tests: the whole system driven through kubectl.

(A plain module rather than conftest.py: test modules import from it, and a
suite-wide run has several conftest modules.)"""

from __future__ import annotations

import json
from typing import Any

import yaml
from guestbook_ledger.store.audit import audit_ledger
from guestbook_ledger.store.schema import connect
from guestbook_operator.localsystem import LocalSystem, wait_until

# Short intervals so repair and audit happen within a test's patience.
OPERATOR_ENV = {
    "GUESTBOOK_REPAIR_INTERVAL": "2",
    "GUESTBOOK_RECONCILE_INTERVAL": "0.5",
}


def get_json(system: LocalSystem, *args: str) -> Any:
    return json.loads(system.kubectl("get", *args, "-o", "json"))


def ledger_yaml(name: str = "guestbook", **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "Ledger",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }
    )


def entries_yaml(count: int, *, prefix: str = "entry", ledger: str = "guestbook") -> str:
    docs = [
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": f"{prefix}-{i}", "namespace": "default"},
            "spec": {"ledger": ledger, "author": f"Author {i}", "message": f"Message number {i} ✓"},
        }
        for i in range(count)
    ]
    return yaml.safe_dump_all(docs, allow_unicode=True)


def wait_ledger_ready(system: LocalSystem, name: str = "guestbook") -> None:
    system.kubectl(
        "wait", "--for=condition=Ready", f"ledger/{name}", "--timeout=120s", "-n", "default"
    )


def wait_all_sealed(system: LocalSystem, count: int, timeout: float = 180.0) -> list[Any]:
    def sealed() -> list[Any] | None:
        items = get_json(system, "guestbookentries", "-n", "default")["items"]
        done = [i for i in items if (i.get("status") or {}).get("phase") == "Sealed"]
        return done if len(done) >= count else None

    result: list[Any] = wait_until(sealed, timeout=timeout, interval=0.5, what="entries sealed")
    return result


def assert_ledger_intact(system: LocalSystem, count: int) -> None:
    """Every entry resource sealed once, at contiguous indexes, and the audit passes."""
    conn = connect(system.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT leaf_index, uid FROM entries WHERE state = 'sealed' ORDER BY leaf_index"
            )
            rows = cur.fetchall()
        report = audit_ledger(conn, "default/guestbook")
    finally:
        conn.close()
    assert [index for index, _ in rows] == list(range(count))
    assert len({uid for _, uid in rows}) == count
    assert report.ok, report.mismatches
    resources = {e["metadata"]["uid"] for e in get_json(system, "gbe")["items"]}
    assert resources == {uid for _, uid in rows}
