"""Operations: the liveness endpoint and the Prometheus metrics of a running operator."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from guestbook_operator.localsystem import LocalSystem, wait_until
from operator_e2e import entries_yaml, ledger_yaml, wait_all_sealed, wait_ledger_ready


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_liveness_and_metrics(system: LocalSystem) -> None:
    system.stop_operator()
    liveness, metrics = free_port(), free_port()
    system.operator_env["GUESTBOOK_METRICS_PORT"] = str(metrics)
    system.start_operator("--liveness", f"http://127.0.0.1:{liveness}/healthz")
    body = wait_until(
        lambda: fetch(f"http://127.0.0.1:{liveness}/healthz"),
        timeout=60,
        what="the liveness endpoint",
    )
    assert json.loads(body)["database"] is True

    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(4))
    wait_all_sealed(system, 4)

    def sealed_metric() -> str | None:
        text = fetch(f"http://127.0.0.1:{metrics}/metrics")
        wanted = 'guestbook_tree_size{ledger="default/guestbook"} 4.0'
        return text if text and wanted in text else None

    text = wait_until(sealed_metric, timeout=60, what="the tree size metric")
    assert 'guestbook_entries_admitted_total{ledger="default/guestbook"} 4.0' in text
    assert 'guestbook_entries_pending{ledger="default/guestbook"} 0.0' in text
    assert "guestbook_seal_latency_seconds_bucket" in text
