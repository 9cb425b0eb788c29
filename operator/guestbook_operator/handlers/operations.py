"""Operator-wide concerns: settings, metrics, liveness and readiness, shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

import kopf
from guestbook_kube.credentials import load_settings
from guestbook_kube.resources import GROUP
from prometheus_client import start_http_server

from guestbook_operator.config import load_config
from guestbook_operator.database import Database
from guestbook_operator.entries.batcher import AdmissionBatcher
from guestbook_operator.kube import Kube
from guestbook_operator.readiness import start_readiness_server
from guestbook_operator.runtime import Runtime, runtime


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: Any, **_: Any) -> None:
    # Progress in annotations: the CRDs' status schemas prune unknown fields.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Kopf would post an event per handled object; our own events say what matters.
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = 16
    # Kopf watches only Ledgers (entries have the operator's own watch, decision
    # 0049). It starts a worker per object with events; with very many Ledgers
    # an unbounded number of them cost ~30 KB each (decision 0048), so they are
    # bounded, and idle ones leave after 0.5 s (not 5 s).
    settings.queueing.worker_limit = 1000
    settings.queueing.idle_timeout = 0.5
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    # With --peering: a dead active replica's lease expires after this, and a
    # paused one takes over (Kopf's default is 60 s).
    settings.peering.lifetime = 20
    if memo.get("namespaces"):
        # Serving listed namespaces: no cluster-wide scan of namespaces and CRDs,
        # so a namespaced install needs no cluster-scoped rights (decision 0096).
        settings.scanning.disabled = True
    config = load_config()
    db = Database(config.dsn, size=16)
    executor = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="handlers")
    memo["runtime"] = Runtime(
        config=config,
        db=db,
        kube=Kube(load_settings(), concurrency=16, user_agent="guestbook-operator"),
        loop=asyncio.get_running_loop(),
        executor=executor,
        batcher=AdmissionBatcher(db, executor),
    )
    if config.metrics_port:
        start_http_server(config.metrics_port, addr=config.metrics_address)
    if config.readiness_port:
        memo["readiness"] = await start_readiness_server(
            db, executor, config.readiness_address, config.readiness_port
        )


@kopf.on.probe(id="eventLoop")
async def event_loop_alive(**_: Any) -> bool:
    """Liveness (Kopf's --liveness endpoint): this runs on the operator's event loop,
    so an answer means the loop runs. Never the database, whose outage the
    operator waits out (readiness and the Ledgers' Ready condition report it;
    decision 0133)."""
    return True


@kopf.on.cleanup()
async def close(memo: Any, **_: Any) -> None:
    rt = runtime(memo)
    readiness = memo.get("readiness")
    if readiness is not None:
        await readiness.cleanup()
    rt.executor.shutdown(wait=False, cancel_futures=True)
    rt.db.close()
    rt.kube.close()
