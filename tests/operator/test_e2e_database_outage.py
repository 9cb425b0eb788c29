"""PostgreSQL stopped (decision 0133): the operator pod is not restarted — its
liveness endpoint keeps answering, whatever the database does — while its
readiness and the Ledger's Ready condition report the outage; when the database
is back the Ledger is Ready again and entries that waited are sealed."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chart_release import Release, wait_until
from guestbook_localcluster import postgres
from operator_e2e import (
    assert_ledger_intact,
    entries_yaml,
    get_json,
    ledger_yaml,
    wait_all_sealed,
    wait_ledger_ready,
)


def http_get(url: str) -> tuple[int, Any] | None:
    """(status, JSON body) of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def pod_ready(system: Release, pod: str) -> bool:
    conditions = get_json(system, "pod", pod)["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def ledger_ready(system: Release) -> dict[str, Any]:
    conditions = (get_json(system, "ledger", "guestbook").get("status") or {}).get("conditions")
    return next((c for c in conditions or [] if c["type"] == "Ready"), {})


def test_a_database_outage_does_not_restart_the_operator(release: Release) -> None:
    # A server of its own: stopping the session's shared one would disturb other tests.
    root = Path(tempfile.mkdtemp(prefix="guestbook-pg-outage-"))
    server = postgres.start_postgres(root / "pg", durable=False)
    try:
        release.dsn = server.dsn()
        release.start_operator()
        system = release
        system.kubectl("apply", "-f", "-", input=ledger_yaml())
        wait_ledger_ready(system)
        [pod] = system.operator_pods(running=True)
        name, address = pod["metadata"]["name"], pod["status"]["podIP"]
        wait_until(lambda: pod_ready(system, name), timeout=120, what="the operator pod Ready")
        assert http_get(f"http://{address}:8081/readyz") == (200, {"database": True})

        server.stop()
        # Liveness keeps answering from the event loop: nothing asks the database.
        live = http_get(f"http://{address}:8080/healthz")
        assert live is not None and live[0] == 200, live
        not_ready = wait_until(
            lambda: (r := http_get(f"http://{address}:8081/readyz")) and r[0] == 503 and r,
            timeout=60,
            what="/readyz to say 503",
        )
        assert not_ready[1]["database"] is False and not_ready[1]["reason"]
        condition = wait_until(
            lambda: (c := ledger_ready(system)).get("reason") == "DatabaseUnavailable" and c,
            timeout=120,
            what="Ready False, DatabaseUnavailable",
        )
        assert condition["status"] == "False"
        events = get_json(system, "events", "--field-selector", "reason=DatabaseUnavailable")
        assert [e["type"] for e in events["items"]][:1] == ["Warning"]
        # The kubelet takes the pod out of readiness (its probe), and never restarts it.
        wait_until(lambda: not pod_ready(system, name), timeout=120, what="the pod not Ready")
        system.kubectl("apply", "-f", "-", input=entries_yaml(3))
        live = http_get(f"http://{address}:8080/healthz")
        assert live is not None and live[0] == 200, live
        assert system.restarts(name) == 0

        server.start(durable=False)
        wait_ledger_ready(system)
        wait_all_sealed(system, 3, timeout=240)
        wait_until(lambda: pod_ready(system, name), timeout=120, what="the operator pod Ready")
        assert system.restarts(name) == 0
        assert_ledger_intact(system, 3)
    finally:
        release.close()  # before its database goes
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
