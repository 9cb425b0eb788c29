"""Helpers of the end-to-end tests: the chart's release driven through kubectl.

(A plain module rather than conftest.py: test modules import from it, and a
suite-wide run has several conftest modules.)"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import yaml
from chart_release import LEDGER, Release, wait_until
from guestbook_ledger.store.audit import audit_ledger
from guestbook_ledger.store.schema import connect
from guestbook_localcluster.controlplane import ControlPlane


def get_json(system: Release, *args: str) -> Any:
    return json.loads(system.kubectl("get", *args, "-o", "json"))


def ledger_yaml(name: str = LEDGER, **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "Ledger",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def entries_yaml(count: int, *, prefix: str = "entry", ledger: str = LEDGER) -> str:
    docs = [
        {
            "apiVersion": "ledger.guestbook.io/v1alpha1",
            "kind": "GuestbookEntry",
            "metadata": {"name": f"{prefix}-{i}"},
            "spec": {"ledger": ledger, "author": f"Author {i}", "message": f"Message number {i} ✓"},
        }
        for i in range(count)
    ]
    return yaml.safe_dump_all(docs, allow_unicode=True)


def wait_ledger_ready(system: Release, name: str = LEDGER) -> None:
    system.kubectl("wait", "--for=condition=Ready", f"ledger/{name}", "--timeout=120s")


def sealed_entries(system: Release) -> list[Any]:
    items = get_json(system, "guestbookentries")["items"]
    return [i for i in items if (i.get("status") or {}).get("phase") == "Sealed"]


def wait_all_sealed(system: Release, count: int, timeout: float = 180.0) -> list[Any]:
    def sealed() -> list[Any] | None:
        done = sealed_entries(system)
        return done if len(done) >= count else None

    return wait_until(sealed, timeout=timeout, interval=0.5, what=f"{count} entries sealed")


def wait_some_sealed(system: Release) -> None:
    wait_until(lambda: sealed_entries(system), timeout=120, interval=0.05, what="the first seal")


def assert_ledger_intact(system: Release, count: int) -> None:
    """Every entry resource sealed once, at contiguous indexes, every tree head
    consistent with the next, and the audit passes."""
    conn = connect(system.dsn)
    try:
        with conn, conn.cursor() as cur:
            # The test's own database: this Ledger's entries only.
            cur.execute(
                "SELECT leaf_index, uid FROM entries WHERE state = 'sealed' ORDER BY leaf_index"
            )
            rows = cur.fetchall()
        report = audit_ledger(conn, system.ledger_id)
    finally:
        conn.close()
    assert [index for index, _ in rows] == list(range(count))
    assert len({uid for _, uid in rows}) == count
    assert report.ok, report.mismatches
    assert report.heads_checked >= 1  # signed tree heads, each consistent with the next
    resources = {e["metadata"]["uid"] for e in get_json(system, "gbe")["items"]}
    assert resources == {uid for _, uid in rows}


@contextlib.contextmanager
def outage(control_plane: ControlPlane, component: str) -> Iterator[None]:
    """SIGKILL a control-plane component; on leaving, start it again and wait until it
    and the API server are healthy (the control plane serves the whole session)."""
    control_plane.kill_component(component)
    try:
        yield
    finally:
        control_plane.start_component(component, timeout=120)
        if component != "kube-apiserver":
            wait_until(
                lambda: control_plane.healthy("kube-apiserver"),
                timeout=120,
                what="kube-apiserver to be healthy again",
            )
