"""The kubelet: runs each pod's first container as a local process.

It watches pods through the REST API, starts one :class:`PodWorker` per pod
that is not finished yet, and reports progress by patching ``pods/status``:
Pending (waiting ContainerCreating) → Running → Succeeded/Failed. Deleting a
pod stops its process: SIGTERM, then SIGKILL after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from guestbook_ledger.kube_rest import (
    CONNECTION_ERRORS,
    ApiClient,
    ApiError,
    Obj,
    resource_path,
    with_retries,
)

from . import pod_status
from .events import EventRecorder
from .informer import Informer, object_key
from .pod_env import EnvError, expand, resolve_env
from .pod_identity import TokenSource, service_account_of, write_pod_identity
from .process import CannotRun, LocalProcess

log = logging.getLogger(__name__)

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
NODE_NAME = "devcluster"  # the one node; the kubelet binds every pod it runs to it
# Host variables a process needs to behave (locale, home, temp); the rest of
# the host environment is not leaked into pods, as in a container.
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER")


@dataclass
class KubeletConfig:
    """Where the kubelet keeps pod files and how pods reach the API server."""

    server_url: str
    state_dir: Path
    token_for: TokenSource
    pod_start_delay: float = 0.0
    # `guestbook-ledger ...` in a pod must find this installation's commands.
    bin_dir: str = field(default_factory=lambda: os.path.dirname(sys.executable))


def log_path(
    state_dir: Path, namespace: str, name: str, uid: str, container: str, restart: int
) -> Path:
    """Where the output of one run of a container goes (like /var/log/pods)."""
    return state_dir / "logs" / f"{namespace}_{name}_{uid}" / container / f"{restart}.log"


def _grace_seconds(pod: Obj) -> float:
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return float(meta["deletionGracePeriodSeconds"])
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return float(30 if grace is None else grace)


class PodWorker:
    """Runs one pod from Pending to a terminal phase, or until it is deleted."""

    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.kubelet = kubelet
        self.pod = pod
        meta = pod["metadata"]
        self.namespace = str(meta.get("namespace") or "default")
        self.name = str(meta["name"])
        self.uid = str(meta.get("uid") or "")
        self.process: LocalProcess | None = None
        self.stopping = asyncio.Event()
        self.grace = 30.0
        self.deleted = False  # the object is gone from the API
        self.start_time = pod_status.now_rfc3339()
        self.task: asyncio.Task[None] | None = None
        self.last_state: Obj | None = None  # how the previous run of the container ended
        self.failed = False  # ended by an error, not by its process or a deletion
        self.spec_env: dict[str, str] = {}  # the env the pod spec defines (resolved)

    @property
    def container_name(self) -> str:
        containers = (self.pod.get("spec") or {}).get("containers") or [{}]
        return str(containers[0].get("name") or "main")

    def _event(self, kind: str, reason: str, message: str) -> None:
        if not self.deleted:
            self.kubelet.events.emit({"kind": "Pod", **self.pod}, kind, reason, message)

    @property
    def status_path(self) -> str:
        return resource_path("v1", "pods", self.namespace, self.name) + "/status"

    def stop(self, grace: float, deleted: bool) -> None:
        """Ask the worker to terminate its process with ``grace`` seconds."""
        self.grace = min(self.grace, grace) if self.stopping.is_set() else grace
        self.deleted = self.deleted or deleted
        self.stopping.set()

    async def _patch_status(self, status: Obj) -> None:
        if self.deleted:
            return
        if self.last_state is not None:
            # Like the kubelet: a restarted container shows how its previous run ended.
            for container in status.get("containerStatuses") or []:
                container.setdefault("lastState", self.last_state)
        client = self.kubelet.client
        # Only this worker writes this pod's status, so patches arrive in order, and
        # each carries the whole status: one that cannot be written is superseded by
        # the next, so a failure is logged and the pod's process is not abandoned.
        for attempt in range(5):
            try:
                await with_retries(lambda: client.merge_patch(self.status_path, {"status": status}))
                return
            except ApiError as exc:
                if exc.code != 409 or attempt == 4:  # conflicts are worth another try
                    log.warning("pod %s/%s: status not written: %s", self.namespace, self.name, exc)
                    return
            except CONNECTION_ERRORS as exc:
                log.warning("pod %s/%s: status not written: %s", self.namespace, self.name, exc)
                return
            await asyncio.sleep(0.1 * (attempt + 1))

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Wait ``seconds``; True when the pod was deleted meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()

    async def run(self) -> None:
        """Run the pod; cancelled (the kubelet stops): kill the process, write nothing."""
        try:
            await self._run()
        except asyncio.CancelledError:
            if self.process is not None:
                self.process.signal(signal.SIGKILL)
            raise
        except Exception as exc:
            # The API kept refusing (bind, status): stop what runs, let the kubelet retry.
            log.warning("pod %s/%s: will retry: %s", self.namespace, self.name, exc)
            if self.process is not None:
                self.process.signal(signal.SIGKILL)
            self.failed = True
        await self._finish_deletion()

    async def _run(self) -> None:
        spec = self.pod.get("spec") or {}
        containers = spec.get("containers") or [{}]
        container: Obj = containers[0]
        if not spec.get("nodeName"):
            # Bind the pod (the scheduler's job): graceful deletion applies from now on.
            path = resource_path("v1", "pods", self.namespace, self.name)
            bound = await with_retries(
                lambda: self.kubelet.client.merge_patch(path, {"spec": {"nodeName": NODE_NAME}})
            )
            if bound is None:
                return
        delay = self.kubelet.config.pod_start_delay
        if delay > 0:
            # Visible as ContainerCreating while the simulated scheduling/image start lasts.
            await self._patch_status(
                pod_status.waiting(self.pod, container, self.start_time, "ContainerCreating", None)
            )
            if await self._sleep_or_stop(delay):
                return
        env = await self._environment(container)
        if env is None:
            return
        # As Kubernetes: $(NAME) in command and args refers to the container's own env.
        variables = self.spec_env
        argv = [expand(str(a), variables) for a in container.get("command") or []]
        argv += [expand(str(a), variables) for a in container.get("args") or []]
        restart_policy = str(spec.get("restartPolicy") or "Always")
        restarts = 0
        backoff = 1.0
        while True:
            outcome = await self._run_once(container, argv, env, restarts)
            if outcome is None:  # deleted, or could not start (already reported)
                return
            exit_code, started_at, pid = outcome
            restart = restart_policy == "Always" or (
                restart_policy == "OnFailure" and exit_code != 0
            )
            finished_at = pod_status.now_rfc3339()
            reason = "Completed" if exit_code == 0 else "Error"
            if not restart:
                await self._patch_status(
                    pod_status.terminated(
                        self.pod,
                        container,
                        self.start_time,
                        exit_code=exit_code,
                        reason=reason,
                        message=None,
                        started_at=started_at,
                        finished_at=finished_at,
                        pid=pid,
                        restarts=restarts,
                    )
                )
                return
            restarts += 1
            status = pod_status.waiting(
                self.pod,
                container,
                self.start_time,
                "CrashLoopBackOff",
                f"back-off {backoff:g}s restarting failed container",
                restarts,
            )
            self.last_state = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": reason,
                    "startedAt": started_at,
                    "finishedAt": finished_at,
                }
            }
            await self._patch_status(status)
            self._event(
                "Warning", "BackOff", f"Back-off restarting failed container {self.container_name}"
            )
            if await self._sleep_or_stop(backoff):
                return
            backoff = min(backoff * 2, 30.0)

    async def _environment(self, container: Obj) -> dict[str, str] | None:
        """The process environment; waits (CreateContainerConfigError) while refs are missing."""
        kubelet = self.kubelet
        config = kubelet.config
        pod_dir = kubelet.pod_dir(self.namespace, self.name, self.uid)
        base = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        base["PATH"] = config.bin_dir + os.pathsep + os.environ.get("PATH", os.defpath)
        base["HOSTNAME"] = self.name
        # Dev affordance: Python output reaches `kubectl logs -f` as it is written.
        base["PYTHONUNBUFFERED"] = "1"
        token = config.token_for(self.namespace, service_account_of(self.pod))
        base.update(write_pod_identity(pod_dir, config.server_url, self.namespace, token))
        reported = ""
        while True:
            try:
                self.spec_env = await resolve_env(self.pod, container, kubelet.lookup)
                return {**base, **self.spec_env}
            except EnvError as exc:
                if str(exc) != reported:
                    reported = str(exc)
                    self._event("Warning", "Failed", f"Error: {exc}")
                await self._patch_status(
                    pod_status.waiting(
                        self.pod, container, self.start_time, "CreateContainerConfigError", str(exc)
                    )
                )
            if await self._sleep_or_stop(1.0):
                return None

    async def _run_once(
        self, container: Obj, argv: list[str], env: dict[str, str], restarts: int
    ) -> tuple[int, str, int] | None:
        kubelet = self.kubelet
        name = str(container.get("name") or "main")
        output = log_path(
            kubelet.config.state_dir, self.namespace, self.name, self.uid, name, restarts
        )
        cwd = kubelet.pod_dir(self.namespace, self.name, self.uid)
        working_dir = container.get("workingDir")
        if working_dir and os.path.isdir(str(working_dir)):
            cwd = Path(str(working_dir))
        started_at = pod_status.now_rfc3339()
        try:
            self.process = await LocalProcess.start(argv, env, cwd, output)
        except CannotRun as exc:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(f"{exc}\n")
            self._event("Warning", "Failed", f"Error: {exc}")
            await self._patch_status(
                pod_status.terminated(
                    self.pod,
                    container,
                    self.start_time,
                    exit_code=128,
                    reason="ContainerCannotRun",
                    message=str(exc),
                    started_at=None,
                    finished_at=pod_status.now_rfc3339(),
                    pid=None,
                    restarts=restarts,
                )
            )
            return None
        process = self.process
        self._event("Normal", "Started", f"Started container {name}")
        await self._patch_status(
            pod_status.running(
                self.pod, container, self.start_time, started_at, process.pid, restarts
            )
        )
        waiter = asyncio.ensure_future(process.wait())
        stopper = asyncio.ensure_future(self.stopping.wait())
        exited = False
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            exited = waiter.done()
            if not exited:
                waiter.cancel()  # the process is terminated below, or by the kubelet's stop
        if exited:
            return waiter.result(), started_at, process.pid
        self._event("Normal", "Killing", f"Stopping container {name}")
        exit_code = await process.terminate(self.grace)
        await self._patch_status(
            pod_status.terminated(
                self.pod,
                container,
                self.start_time,
                exit_code=exit_code,
                reason="Error" if exit_code else "Completed",
                message=None,
                started_at=started_at,
                finished_at=pod_status.now_rfc3339(),
                pid=process.pid,
                restarts=restarts,
            )
        )
        return None

    async def _finish_deletion(self) -> None:
        """A pod deleted gracefully is removed for good once its process ended."""
        if not self.stopping.is_set() or self.deleted:
            return
        self.kubelet.removed.add(self.uid)
        path = resource_path("v1", "pods", self.namespace, self.name)
        options = {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
        with contextlib.suppress(ApiError):
            await with_retries(lambda: self.kubelet.client.delete(path, options))


class Kubelet:
    """Runs every pod the API server holds, one local process each."""

    def __init__(
        self, client: ApiClient, config: KubeletConfig, pods: Informer | None = None
    ) -> None:
        """``pods``: a pod informer shared with the Job controller (run by the caller)."""
        self.client = client
        self.config = config
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self._finished: set[str] = set()  # uids whose worker ended
        self.removed: set[str] = set()  # uids this kubelet deleted for good
        self._resyncs: set[asyncio.Future[None]] = set()
        self.events = EventRecorder(client, "kubelet", NODE_NAME)
        self._owns_informer = pods is None
        self.informer = pods or Informer(client, "/api/v1/pods")
        self.informer.add_handler(self._on_event)

    def pod_dir(self, namespace: str, name: str, uid: str) -> Path:
        path = self.config.state_dir / "pods" / f"{namespace}_{name}_{uid}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def lookup(self, kind: str, namespace: str, name: str) -> Obj | None:
        plural = "secrets" if kind == "Secret" else "configmaps"
        path = resource_path("v1", plural, namespace, name)
        return await with_retries(lambda: self.client.get(path))

    async def run(self) -> None:
        """Watch pods until cancelled; on cancellation every process is stopped."""
        try:
            if self._owns_informer:
                await asyncio.gather(self.informer.run(), self.events.run())
            else:
                await self.events.run()  # the shared informer feeds _on_event
        finally:
            workers = [w for w in self.workers.values() if w.task is not None]
            for worker in workers:
                if worker.process is not None:
                    worker.process.signal(signal.SIGKILL)
                assert worker.task is not None
                worker.task.cancel()
            for worker in workers:
                assert worker.task is not None
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await worker.task
            # Reap the killed processes while this event loop still runs.
            reaping = {
                asyncio.ensure_future(w.process.wait()) for w in workers if w.process is not None
            }
            if reaping:
                await asyncio.wait(reaping, timeout=5)
            for worker in workers:
                if worker.process is not None:
                    worker.process.close()

    async def _on_event(self, kind: str, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                worker.stop(_grace_seconds(pod), deleted=True)
            return
        if worker is not None:
            worker.pod = pod
            if meta.get("deletionTimestamp"):
                worker.stop(_grace_seconds(pod), deleted=False)
            return
        phase = (pod.get("status") or {}).get("phase")
        node = (pod.get("spec") or {}).get("nodeName")
        if node and node != NODE_NAME:
            return
        if meta.get("deletionTimestamp"):
            # Its process has ended (or never ran here): finish the graceful deletion.
            if node and uid not in self.removed:
                self.removed.add(uid)
                await self._remove(pod)
            return
        if uid in self._finished or phase in TERMINAL_PHASES:
            return
        if phase == "Running":
            # Running before this kubelet started: its process died with the old one.
            self._finished.add(uid)
            await self._report_lost(pod)
            return
        worker = PodWorker(self, pod)
        self.workers[uid] = worker
        worker.task = asyncio.create_task(self._run_worker(worker), name=f"pod {object_key(pod)}")

    def _resync(self, key: tuple[str, str]) -> None:
        pod = self.informer.store.get(key)
        if pod is not None:
            task = asyncio.ensure_future(self._on_event("MODIFIED", pod))
            self._resyncs.add(task)  # keep a reference until it is done
            task.add_done_callback(self._resyncs.discard)

    async def _remove(self, pod: Obj) -> None:
        meta = pod["metadata"]
        path = resource_path("v1", "pods", str(meta.get("namespace")), str(meta["name"]))
        options = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta.get("uid")}}
        with contextlib.suppress(ApiError):
            await with_retries(lambda: self.client.delete(path, options))

    async def _report_lost(self, pod: Obj) -> None:
        meta = pod["metadata"]
        containers = (pod.get("spec") or {}).get("containers") or [{}]
        now = pod_status.now_rfc3339()
        status = pod_status.terminated(
            pod,
            containers[0],
            str((pod.get("status") or {}).get("startTime") or now),
            exit_code=137,
            reason="ContainerStatusUnknown",
            message="The container could not be located when the pod was terminated",
            started_at=None,
            finished_at=now,
            pid=None,
            restarts=0,
        )
        path = resource_path("v1", "pods", str(meta.get("namespace")), str(meta["name"]))
        with contextlib.suppress(ApiError):
            await with_retries(
                lambda: self.client.merge_patch(path + "/status", {"status": status})
            )

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        finally:
            self.workers.pop(worker.uid, None)
            if worker.failed and not worker.stopping.is_set():
                # Like the kubelet's periodic pod sync: try this pod again shortly.
                key = (worker.namespace, worker.name)
                asyncio.get_running_loop().call_later(1.0, self._resync, key)
            else:
                self._finished.add(worker.uid)
            if worker.deleted:
                shutil.rmtree(
                    self.config.state_dir
                    / "pods"
                    / f"{worker.namespace}_{worker.name}_{worker.uid}",
                    ignore_errors=True,
                )

    def is_running(self, uid: str) -> bool:
        """Whether pod ``uid`` has a process that may still run (any thread)."""
        return uid in self.workers

    def kill(self, namespace: str, name: str) -> bool:
        """SIGKILL the process of pod ``namespace/name`` (fault injection); False if none runs."""
        for worker in self.workers.values():
            if (worker.namespace, worker.name) == (namespace, name) and worker.process is not None:
                worker.process.signal(signal.SIGKILL)
                return True
        return False
