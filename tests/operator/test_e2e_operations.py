"""Operations: the liveness and readiness endpoints and the Prometheus metrics of the
chart's operator pod, fetched at the pod's IP as Prometheus and the kubelet would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from chart_release import Release, wait_until
from operator_e2e import entries_yaml, ledger_yaml, wait_all_sealed, wait_ledger_ready

METRICS_PORT = 9090


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def test_liveness_and_metrics(system: Release) -> None:
    system.start_operator(metricsPort=METRICS_PORT)  # a helm upgrade rolls the pod
    [pod] = system.operator_pods(running=True)
    address = pod["status"]["podIP"]
    body = wait_until(
        lambda: fetch(f"http://{address}:8080/healthz"),
        timeout=60,
        what="the liveness endpoint",
    )
    assert json.loads(body) == {"eventLoop": True}  # never the database (decision 0133)
    ready = wait_until(
        lambda: fetch(f"http://{address}:8081/readyz"), timeout=60, what="the readiness endpoint"
    )
    assert json.loads(ready) == {"database": True}

    system.kubectl("apply", "-f", "-", input=ledger_yaml())
    wait_ledger_ready(system)
    system.kubectl("apply", "-f", "-", input=entries_yaml(4))
    wait_all_sealed(system, 4)
    ledger = f'ledger="{system.ledger_id}"'

    def sealed_metric() -> str | None:
        text = fetch(f"http://{address}:{METRICS_PORT}/metrics")
        return text if text and f"guestbook_tree_size{{{ledger}}} 4.0" in text else None

    text = wait_until(sealed_metric, timeout=60, what="the tree size metric")
    assert f"guestbook_entries_admitted_total{{{ledger}}} 4.0" in text
    assert f"guestbook_entries_pending{{{ledger}}} 0.0" in text
    assert "guestbook_seal_latency_seconds_bucket" in text
