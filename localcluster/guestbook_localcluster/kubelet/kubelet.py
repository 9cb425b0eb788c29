"""The process kubelet: one Node whose pods run as local processes.

It talks to kube-apiserver like any kubelet: with the node's client
certificate (the Node authorizer and NodeRestriction apply), watching only
the pods bound to its node (``spec.nodeName``; binding is the scheduler's
job), writing ``pods/status``, renewing its Lease, serving the kubelet API for
``kubectl logs``. Each pod gets a :class:`.pods.PodWorker`.

Run it with ``await Kubelet(config, images).run()`` inside an event loop, or
:meth:`Kubelet.start_thread` / :meth:`Kubelet.stop_thread` beside other work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from guestbook_kube.client import ApiClient, ApiError, resource_path, with_retries
from guestbook_kube.informer import Informer, object_key

from .config import KUBELET_VERSION, ImageSource, KubeletConfig
from .events import EventRecorder
from .node import NodeAgent
from .pod_env import EnvError
from .pod_ips import DEFAULT_RANGE, PodIpAllocator, PodRangeClaim
from .pods import PodWorker, grace_seconds, kill_orphans
from .server import KubeletServer

Obj = dict[str, Any]
log = logging.getLogger(__name__)

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


class KubeletNotReady(Exception):
    """The kubelet did not register its node in time (or stopped); the message says why."""


class Kubelet:
    """Runs the pods bound to ``config.node_name``, one local process per container."""

    def __init__(self, config: KubeletConfig, images: ImageSource) -> None:
        config.state_dir = config.state_dir.resolve()  # pods run elsewhere, paths must hold
        self.config = config
        self.images = images
        self.pod_ips = PodIpAllocator(config.pod_cidr or DEFAULT_RANGE)
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.removed: set[str] = set()  # uids this kubelet deleted for good
        self.active_logs: set[Path] = set()  # log files a running container writes
        self._finished: set[str] = set()  # uids whose worker ended
        self._resyncs: set[asyncio.Future[None]] = set()
        self.machine_cpu = 1.0
        self.machine_memory = 1 << 30
        self.port = config.port
        self.ready = threading.Event()  # set once the Node is registered and pods listed
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._client: ApiClient | None = None
        self._events: EventRecorder | None = None
        self._informer: Informer | None = None

    # -- what the workers use ----------------------------------------------------

    @property
    def client(self) -> ApiClient:
        assert self._client is not None, "the kubelet is not running"
        return self._client

    @property
    def events(self) -> EventRecorder:
        assert self._events is not None, "the kubelet is not running"
        return self._events

    def pod_dir(self, namespace: str, name: str, uid: str) -> Path:
        path = self.config.state_dir / "pods" / f"{namespace}_{name}_{uid}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def lookup(self, kind: str, namespace: str, name: str) -> Obj | None:
        """A Secret or ConfigMap a pod references (None when missing).

        Raises EnvError when the Node authorizer refuses, which it does until it
        has seen the pod bound here (the caller waits and tries again).
        """
        plural = "secrets" if kind == "Secret" else "configmaps"
        path = resource_path("v1", plural, namespace, name)
        try:
            return await with_retries(lambda: self.client.get(path))
        except ApiError as exc:
            if exc.code == 403:
                raise EnvError(f"{kind.lower()} {namespace}/{name}: {exc.message}") from exc
            raise

    def pod_of(self, namespace: str, name: str) -> Obj | None:
        """The pod as this kubelet knows it (its status as the worker sees it now)."""
        for worker in self.workers.values():
            if (worker.namespace, worker.name) == (namespace, name):
                return {**worker.pod, "status": worker.compose()}
        if self._informer is None:
            return None
        return self._informer.store.get((namespace, name))

    # -- running -------------------------------------------------------------------

    async def run(self) -> None:
        """Register the node and run its pods until cancelled; cancelling kills every pod process.

        Raises ApiError / OSError when the node cannot be registered or the
        kubelet API cannot listen (the message says which).
        """
        config = self.config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        killed = kill_orphans(config.state_dir / "pods")
        if killed:
            log.warning("killed %d pod processes left by a previous kubelet", killed)
        claim = None if config.pod_cidr else PodRangeClaim.take()
        if claim is not None:
            self.pod_ips = PodIpAllocator(claim.cidr)
        try:
            await self._run(config)
        finally:
            if claim is not None:
                claim.release()

    async def _run(self, config: KubeletConfig) -> None:
        self._client = ApiClient(
            config.server_url,
            tls=config.client_tls(),
            user_agent=f"kubelet/{KUBELET_VERSION} (linux) guestbook-ledger-process-kubelet",
        )
        server = KubeletServer(
            config.state_dir, self.pod_of, self.active_logs, config.address, config.port,
            config.serving_tls(),
        )  # fmt: skip
        try:
            self.port = await server.start()
            node = NodeAgent(self.client, config, self.port)
            self.machine_cpu, self.machine_memory = node.machine.cpu, node.machine.memory
            await node.register()
            self._events = EventRecorder(self.client, "kubelet", config.node_name)
            # The Node authorizer lets a kubelet list and watch only its own pods.
            self._informer = Informer(
                self.client,
                "/api/v1/pods",
                params={"fieldSelector": f"spec.nodeName={config.node_name}"},
                max_delay=2.0,
            )
            self._informer.add_handler(self._on_event)
            tasks = [
                asyncio.ensure_future(self._informer.run()),
                asyncio.ensure_future(node.run()),
                asyncio.ensure_future(self.events.run()),
            ]
            try:
                await self._informer.synced.wait()
                self.ready.set()
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
                await self._stop_workers()
        finally:
            await server.stop()
            await self.client.aclose()

    async def _stop_workers(self) -> None:
        workers = [w for w in self.workers.values() if w.task is not None]
        for worker in workers:
            worker.kill()
            assert worker.task is not None
            worker.task.cancel()
        for worker in workers:
            assert worker.task is not None
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker.task

    async def _on_event(self, kind: str, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                worker.stop(grace_seconds(pod), deleted=True)
            return
        if worker is not None:
            worker.pod = pod
            if meta.get("deletionTimestamp"):
                worker.stop(grace_seconds(pod), deleted=False)
            return
        if (pod.get("spec") or {}).get("nodeName") != self.config.node_name:
            return
        if meta.get("deletionTimestamp"):
            # Its processes have ended (or never ran here): finish the graceful deletion.
            if uid not in self.removed:
                self.removed.add(uid)
                await self._remove(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if uid in self._finished or phase in TERMINAL_PHASES:
            return
        worker = PodWorker(self, pod)
        self.workers[uid] = worker
        worker.task = asyncio.create_task(self._run_worker(worker), name=f"pod {object_key(pod)}")

    def _resync(self, key: tuple[str, str]) -> None:
        informer = self._informer
        pod = informer.store.get(key) if informer is not None else None
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

    async def _run_worker(self, worker: PodWorker) -> None:
        try:
            await worker.run()
        finally:
            self.workers.pop(worker.uid, None)
            self.pod_ips.release(worker.uid)
            if worker.failed and not worker.stopping.is_set():
                # Like the kubelet's periodic pod sync: try this pod again shortly.
                key = (worker.namespace, worker.name)
                asyncio.get_running_loop().call_later(1.0, self._resync, key)
            else:
                self._finished.add(worker.uid)
            if worker.deleted or worker.uid in self.removed:
                shutil.rmtree(worker.pod_dir, ignore_errors=True)

    def kill(self, namespace: str, name: str) -> bool:
        """SIGKILL the processes of pod ``namespace/name`` (fault injection); False if none runs.

        Call it on the kubelet's loop; from another thread use :meth:`kill_pod_process`.
        """
        for worker in self.workers.values():
            if (worker.namespace, worker.name) == (namespace, name):
                return worker.kill()
        return False

    # -- background thread ---------------------------------------------------------

    def start_thread(self, timeout: float = 60.0) -> None:
        """Start :meth:`run` on a new event loop in a daemon thread; wait until it is ready.

        Raises KubeletNotReady (with the cause) when it fails or takes longer than ``timeout``.
        """
        self._thread = threading.Thread(target=self._thread_main, name="kubelet", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout) or self._error is not None:
            error = self._error
            self.stop_thread()
            if error is not None:
                raise KubeletNotReady(f"the kubelet did not start: {error}") from error
            raise KubeletNotReady(f"the kubelet did not register its node within {timeout:g} s")

    def _thread_main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._main = asyncio.current_task()
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self._error = exc
                self.ready.set()  # wake start_thread, which reports the error
                log.exception("the kubelet stopped")

        # asyncio.run cancels and awaits whatever is left (process waits, timers).
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def stop_thread(self, timeout: float = 30.0) -> None:
        """Stop the kubelet (killing pod processes) and wait for its thread."""
        loop, main, thread = self._loop, self._main, self._thread
        if thread is None:
            return
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(main.cancel)
        thread.join(timeout)
        self._thread = None

    def kill_pod_process(self, namespace: str, name: str) -> bool:
        """:meth:`kill` from any thread (the kubelet runs in :meth:`start_thread`'s)."""
        loop = self._loop
        if loop is None:
            return False

        async def kill() -> bool:
            return self.kill(namespace, name)

        return asyncio.run_coroutine_threadsafe(kill(), loop).result(5)


def run_until_signal(kubelet: Kubelet, on_ready: Callable[[], None] | None = None) -> None:
    """Run the kubelet in this thread until SIGINT or SIGTERM (the command-line entry)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(kubelet.run())
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        if on_ready is not None:
            while not kubelet.ready.is_set() and not task.done():
                await asyncio.sleep(0.1)
            if kubelet.ready.is_set() and not task.done():
                on_ready()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
