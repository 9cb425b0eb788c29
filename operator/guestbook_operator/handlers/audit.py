"""The periodic audit (the celery-beat of this design): every
``spec.auditIntervalSeconds`` a Ledger gets an audit Job, which writes its
findings into ``status.lastAudit`` and the Verified condition itself."""

from __future__ import annotations

import datetime
import time
from typing import Any

import kopf

from guestbook_operator.kube import KubeError
from guestbook_operator.manifests import ROLE_AUDIT, audit_job, role_selector
from guestbook_operator.resources import LEDGERS, plain
from guestbook_operator.runtime import runtime

# How often each Ledger checks whether an audit is due.
AUDIT_CHECK_SECONDS = 5.0


def _timestamp(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def audit_due(
    interval: float, last_audit: str | None, job_times: list[str | None], active: bool, now: float
) -> bool:
    """True when an audit Job should start now: none running, and neither the last
    finished audit nor the last audit Job started within ``interval`` seconds."""
    if interval <= 0 or active:
        return False
    times = [t for t in (_timestamp(x) for x in [last_audit, *job_times]) if t is not None]
    return not times or now - max(times) >= interval


@kopf.timer(*LEDGERS, interval=AUDIT_CHECK_SECONDS, initial_delay=AUDIT_CHECK_SECONDS)
def schedule_audit(body: kopf.Body, memo: Any, logger: kopf.Logger, **_: Any) -> None:
    ledger = plain(body)
    status = ledger.get("status") or {}
    if not status.get("keyId"):
        return
    rt = runtime(memo)
    interval = float((ledger.get("spec") or {}).get("auditIntervalSeconds", 300))
    namespace = ledger["metadata"]["namespace"]
    try:
        jobs = rt.kube.list_jobs(namespace, role_selector(ledger, ROLE_AUDIT))
        active = any(
            not any(
                c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                for c in (job.get("status") or {}).get("conditions") or ()
            )
            for job in jobs
        )
        job_times = [job["metadata"].get("creationTimestamp") for job in jobs]
        last = (status.get("lastAudit") or {}).get("time")
        if not audit_due(interval, last, job_times, active, time.time()):
            return
        name = rt.kube.create_job(audit_job(ledger, rt.config))
    except KubeError as exc:
        logger.warning("could not start an audit: %s", exc)
        return
    rt.kube.post_event(ledger, type="Normal", reason="AuditStarted", message=f"Audit Job {name}.")
