"""Prometheus metrics of the operator (served on GUESTBOOK_METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENTRIES_ADMITTED = Counter(
    "guestbook_entries_admitted_total", "Entries recorded in the ledger database.", ["ledger"]
)
ENTRIES_SEALED = Counter(
    "guestbook_entries_sealed_total", "Entries appended to the Merkle tree.", ["ledger"]
)
ENTRIES_PENDING = Gauge(
    "guestbook_entries_pending", "Entries admitted but not yet sealed.", ["ledger"]
)
TREE_SIZE = Gauge("guestbook_tree_size", "Leaves in the latest signed tree head.", ["ledger"])
SEAL_LATENCY = Histogram(
    "guestbook_seal_latency_seconds",
    "From an entry's creation to its seal.",
    ["ledger"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
WORKERS_DESIRED = Gauge(
    "guestbook_workers_desired", "Worker pods the scaling policy asks for.", ["ledger"]
)
WORKERS_ACTIVE = Gauge("guestbook_workers_active", "Worker pods running.", ["ledger"])
JOB_FAILURES = Counter(
    "guestbook_worker_job_failures_total", "Worker Jobs that ended Failed.", ["ledger"]
)
STATUS_REPAIRS = Counter(
    "guestbook_status_repairs_total",
    "Entry statuses the repair loop rewrote from the database.",
    ["ledger"],
)
