"""One pod's life on the node: its sandbox (IP, volumes, identity) and its containers.

:class:`PodWorker` takes a pod bound to this node from Pending to a terminal
phase, or until it is deleted; each container has a :class:`ContainerRunner`
that resolves its image, environment and command, runs it as a local process,
probes it, and restarts it as the pod's ``restartPolicy`` says (with
CrashLoopBackOff). Every change is reported as the pod's complete status
(:mod:`.pod_status`). Deleting the pod stops the processes — SIGTERM, SIGKILL
after the grace period — and then deletes the object with
``gracePeriodSeconds=0``, as the kubelet does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from guestbook_kube.client import CALL_ERRORS, ApiError, resource_path, with_retries

from . import pod_status
from .command import container_argv
from .config import ImageEnvironmentLike
from .logs import log_path
from .pod_env import EnvError, PodPlace, resolve_env
from .pod_status import ContainerView, terminated_state, waiting_state
from .probes import ProbeTiming, run_probe
from .process import CannotRun, LocalProcess
from .volumes import (
    SERVICE_ACCOUNT_MOUNT,
    PodVolumes,
    TokenGrant,
    VolumeError,
    rewrite_path,
    write_volumes,
)

if TYPE_CHECKING:
    from .kubelet import Kubelet

Obj = dict[str, Any]
log = logging.getLogger(__name__)

# Host variables a process needs to behave (locale, home, temp); the rest of
# the host environment is not leaked into pods, as in a container.
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER")
SHIM_DIR = Path(__file__).resolve().parent / "pod_shim"
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0  # seconds (a real kubelet: 10 s up to 300 s)
RESET_BACKOFF_AFTER = 2 * BACKOFF_MAX  # a run this long forgets the earlier crashes
MINIMUM_GRACE = 2.0  # a force deletion still gets this long, as in the kubelet


def grace_seconds(pod: Obj) -> float:
    """The termination grace period of a pod being deleted (or of its spec)."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        grace = float(meta["deletionGracePeriodSeconds"])
    else:
        spec_grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        grace = float(30 if spec_grace is None else spec_grace)
    return max(grace, MINIMUM_GRACE) if grace <= 0 else grace


def _pid_start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime


def record_pid(pid_dir: Path, container: str, pid: int) -> None:
    """Remember a running process, so a restarted kubelet can kill it (:func:`kill_orphans`)."""
    pid_dir.mkdir(parents=True, exist_ok=True)
    (pid_dir / container).write_text(f"{pid} {_pid_start_time(pid) or ''}\n")


def kill_orphans(pods_dir: Path) -> int:
    """SIGKILL the process groups a previous kubelet process left running; how many.

    A node that reboots loses its containers; these processes are their
    equivalent. The start time guards against a recycled pid.
    """
    killed = 0
    for pid_file in pods_dir.glob("*/pids/*"):
        try:
            pid_text, _, started = pid_file.read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue
        if started and _pid_start_time(pid) == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed += 1
        pid_file.unlink(missing_ok=True)
    return killed


class PodStopped(Exception):
    """The pod is being deleted (or the kubelet stops) while it was waiting."""


class ContainerRunner:
    """Runs one container of a pod, restarting it as the restart policy says."""

    def __init__(self, worker: PodWorker, container: Obj) -> None:
        self.worker = worker
        self.spec = container
        self.name = str(container.get("name") or "main")
        self.view = ContainerView(self.name, str(container.get("image") or ""))
        self.process: LocalProcess | None = None
        self.image: ImageEnvironmentLike | None = None
        self.env: dict[str, str] = {}
        self.argv: list[str] = []
        self.cwd = worker.pod_dir
        self.liveness_failed = asyncio.Event()
        self.done = False  # will not run (again)
        self._resume(worker.previous_statuses.get(self.name))

    @property
    def field_path(self) -> str:
        return f"spec.containers{{{self.name}}}"

    def _resume(self, previous: Obj | None) -> None:
        """Continue from the status a previous kubelet process reported (a restart)."""
        if not previous:
            return
        policy = self.worker.restart_policy
        state = previous.get("state") or {}
        self.view.restart_count = int(previous.get("restartCount") or 0)
        self.view.last_state = dict(previous.get("lastState") or {})
        self.view.image_id = str(previous.get("imageID") or "")
        now = pod_status.now_rfc3339()
        if "terminated" in state:
            code = int(state["terminated"].get("exitCode") or 0)
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                self.view.state = state
                self.done = True
            else:
                self.view.last_state = state
        elif "running" in state:
            # Its process died with the previous kubelet process, as on a node reboot.
            lost = terminated_state(
                137,
                "ContainerStatusUnknown",
                started_at=str(state["running"].get("startedAt") or now),
                finished_at=now,
                message="The container could not be located when the pod was terminated",
            )
            if policy == "Never":
                self.view.state = lost
                self.done = True
            else:
                self.view.last_state = lost
                self.view.restart_count += 1

    def _event(self, kind: str, reason: str, message: str) -> None:
        self.worker.event(kind, reason, message, self.field_path)

    async def _set(self, state: Obj, *, ready: bool = False, started: bool = False) -> None:
        self.view.state, self.view.ready, self.view.started = state, ready, started
        await self.worker.publish()

    async def _image(self) -> ImageEnvironmentLike:
        """The image's local environment; ErrImagePull / ImagePullBackOff until it exists."""
        image = self.view.image
        catalog = self.worker.kubelet.images
        backoff = BACKOFF_FIRST
        while True:
            self._event("Normal", "Pulling", f'Pulling image "{image}"')
            try:
                environment = await asyncio.to_thread(catalog.environment_for, image)
            except Exception as exc:
                message = str(exc) or type(exc).__name__
                self._event("Warning", "Failed", f'Failed to pull image "{image}": {message}')
                self._event("Warning", "Failed", "Error: ErrImagePull")
                await self._set(waiting_state("ErrImagePull", message))
                await self.worker.wait_or_stop(backoff)
                self._event("Normal", "BackOff", f'Back-off pulling image "{image}"')
                self._event("Warning", "Failed", "Error: ImagePullBackOff")
                await self._set(
                    waiting_state(
                        "ImagePullBackOff",
                        f'Back-off pulling image "{image}": ErrImagePull: {message}',
                    )
                )
                await self.worker.wait_or_stop(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            self._event("Normal", "Pulled", f'Container image "{image}" already present on machine')
            self.view.image_id = f"local://{environment.root}"
            return environment

    async def _environment(self, image: ImageEnvironmentLike) -> None:
        """Resolve env, command and working directory; CreateContainerConfigError until they can."""
        worker = self.worker
        reported = ""
        while True:
            try:
                mounts = worker.volumes.mounts(self.spec)
                spec_env = await resolve_env(
                    worker.pod, self.spec, worker.kubelet.lookup, worker.place
                )
            except (EnvError, VolumeError) as exc:
                if str(exc) != reported:
                    reported = str(exc)
                    self._event("Warning", "Failed", f"Error: {exc}")
                await self._set(waiting_state("CreateContainerConfigError", str(exc)))
                await worker.wait_or_stop(1.0)
                continue
            break
        env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
        env["HOSTNAME"] = worker.name
        env.update(worker.sandbox_env)
        env.update(image.env)
        env.update(spec_env)
        env = {k: rewrite_path(v, mounts) for k, v in env.items()}
        bin_dir = str(image.bin_dir)
        path = env.get("PATH") or os.environ.get("PATH", os.defpath)
        if bin_dir not in path.split(os.pathsep):
            path = bin_dir + os.pathsep + path
        env["PATH"] = path
        python_path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = str(SHIM_DIR) + (os.pathsep + python_path if python_path else "")
        self.env = env
        argv = container_argv(
            image.entrypoint, image.cmd, self.spec.get("command"), self.spec.get("args"), spec_env
        )
        self.argv = [rewrite_path(a, mounts) for a in argv]
        working_dir = self.spec.get("workingDir")
        if working_dir:
            rewritten = Path(rewrite_path(str(working_dir), mounts))
            if rewritten.is_dir():
                self.cwd = rewritten

    async def run(self) -> None:
        """Run the container until it is done or the pod stops (PodStopped ends it quietly)."""
        if self.done:
            return
        try:
            self.image = await self._image()
            await self._environment(self.image)
            await self._loop()
        except PodStopped:
            pass
        self.done = True

    async def _loop(self) -> None:
        worker = self.worker
        backoff = BACKOFF_FIRST
        while True:
            outcome = await self._run_once()
            if outcome is None:
                return
            exit_code, started_at, ran_for = outcome
            policy = worker.restart_policy
            reason = "Completed" if exit_code == 0 else "Error"
            finished = terminated_state(
                exit_code,
                reason,
                started_at=started_at,
                finished_at=pod_status.now_rfc3339(),
                container_id=self.view.container_id,
            )
            if worker.stopping.is_set():
                await self._set(finished)
                return
            if not (policy == "Always" or (policy == "OnFailure" and exit_code != 0)):
                await self._set(finished)
                return
            if ran_for > RESET_BACKOFF_AFTER:
                backoff = BACKOFF_FIRST
            self.view.last_state = finished
            self.view.restart_count += 1
            pod = worker.pod["metadata"]
            self._event(
                "Warning",
                "BackOff",
                f"Back-off restarting failed container {self.name} in pod "
                f"{pod.get('name')}_{pod.get('namespace')}({pod.get('uid')})",
            )
            await self._set(
                waiting_state(
                    "CrashLoopBackOff",
                    f"back-off {backoff:g}s restarting failed container={self.name} "
                    f"pod={pod.get('name')}_{pod.get('namespace')}({pod.get('uid')})",
                )
            )
            await worker.wait_or_stop(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _run_once(self) -> tuple[int, str, float] | None:
        """One run: (exit code, start time, seconds it ran); None when it could not start."""
        worker = self.worker
        kubelet = worker.kubelet
        output = log_path(
            kubelet.config.state_dir,
            worker.namespace,
            worker.name,
            worker.uid,
            self.name,
            self.view.restart_count,
        )
        started_at = pod_status.now_rfc3339()
        kubelet.active_logs.add(output)
        try:
            try:
                self.process = await LocalProcess.start(self.argv, self.env, self.cwd, output)
            except CannotRun as exc:
                output.parent.mkdir(parents=True, exist_ok=True)
                with open(output, "ab") as log_file:
                    stamp = pod_status.now_rfc3339()
                    log_file.write(f"{stamp} stderr F {exc}\n".encode())
                message = f"failed to start container process: {exc}"
                self._event("Warning", "Failed", f"Error: {message}")
                self.view.container_id = None
                await self._set(
                    terminated_state(
                        128, "StartError", started_at=None,
                        finished_at=pod_status.now_rfc3339(), message=message,
                    )
                )  # fmt: skip
                # Kubernetes restarts it as any failed container.
                return 128, started_at, 0.0
            process = self.process
            record_pid(worker.pod_dir / "pids", self.name, process.pid)
            self.view.container_id = f"process://{process.pid}"
            self._event("Normal", "Created", f"Created container: {self.name}")
            self._event("Normal", "Started", f"Started container {self.name}")
            began = asyncio.get_running_loop().time()
            return await self._supervise(process, started_at, began)
        finally:
            kubelet.active_logs.discard(output)
            if self.process is not None:
                self.process.close()
            self.process = None

    async def _supervise(
        self, process: LocalProcess, started_at: str, began: float
    ) -> tuple[int, str, float] | None:
        worker = self.worker
        readiness = self.spec.get("readinessProbe")
        startup = self.spec.get("startupProbe")
        running = {"running": {"startedAt": started_at}}
        await self._set(
            running, ready=readiness is None and startup is None, started=startup is None
        )
        self.liveness_failed.clear()
        probes = [asyncio.ensure_future(self._probe_all(running))]
        waiter = asyncio.ensure_future(process.wait())
        stopper = asyncio.ensure_future(worker.stopping.wait())
        killer = asyncio.ensure_future(self.liveness_failed.wait())
        try:
            await asyncio.wait({waiter, stopper, killer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (*probes, stopper, killer):
                task.cancel()
            if not waiter.done():
                waiter.cancel()
        loop = asyncio.get_running_loop()
        if waiter.done() and not waiter.cancelled():
            return waiter.result(), started_at, loop.time() - began
        if worker.stopping.is_set():
            self._event("Normal", "Killing", f"Stopping container {self.name}")
            grace = worker.grace
        else:
            grace = grace_seconds(worker.pod)
        self.view.ready = False
        exit_code = await process.terminate(grace)
        return exit_code, started_at, loop.time() - began

    async def _probe_all(self, running: Obj) -> None:
        """Run the startup, then the liveness and readiness probes, until cancelled."""
        startup = self.spec.get("startupProbe")
        if startup is not None:
            if not await self._probe_until("Startup", startup):
                return
            self.view.started = True
            if self.spec.get("readinessProbe") is None:
                self.view.ready = True
            await self.worker.publish()
        tasks = []
        for kind in ("Liveness", "Readiness"):
            probe = self.spec.get(f"{kind.lower()}Probe")
            if probe is not None:
                tasks.append(asyncio.ensure_future(self._probe_loop(kind, probe)))
        try:
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _check(self, kind: str, probe: Obj) -> bool:
        worker = self.worker
        result = await run_probe(probe, self.spec, worker.place.pod_ip, self.env, self.cwd)
        if not result.ok:
            self._event("Warning", "Unhealthy", f"{kind} probe failed: {result.message}")
        return result.ok

    async def _probe_until(self, kind: str, probe: Obj) -> bool:
        """The startup probe: True once it succeeds; False (liveness failed) after the threshold."""
        timing = ProbeTiming.of(probe)
        await asyncio.sleep(timing.initial_delay)
        failures = 0
        while True:
            if await self._check(kind, probe):
                return True
            failures += 1
            if failures >= timing.failure_threshold:
                self._event(
                    "Normal", "Killing",
                    f"Container {self.name} failed startup probe, will be restarted",
                )  # fmt: skip
                self.liveness_failed.set()
                return False
            await asyncio.sleep(timing.period)

    async def _probe_loop(self, kind: str, probe: Obj) -> None:
        timing = ProbeTiming.of(probe)
        await asyncio.sleep(timing.initial_delay)
        successes = failures = 0
        while True:
            ok = await self._check(kind, probe)
            successes, failures = (successes + 1, 0) if ok else (0, failures + 1)
            if kind == "Readiness":
                if ok and successes >= timing.success_threshold and not self.view.ready:
                    self.view.ready = True
                    await self.worker.publish()
                elif not ok and failures >= timing.failure_threshold and self.view.ready:
                    self.view.ready = False
                    await self.worker.publish()
            elif not ok and failures >= timing.failure_threshold:
                self._event(
                    "Normal", "Killing",
                    f"Container {self.name} failed liveness probe, will be restarted",
                )  # fmt: skip
                self.liveness_failed.set()
                return
            await asyncio.sleep(timing.period)


class PodWorker:
    """Runs one pod bound to this node from Pending to a terminal phase, or until deleted."""

    def __init__(self, kubelet: Kubelet, pod: Obj) -> None:
        self.kubelet = kubelet
        self.pod = pod
        meta = pod["metadata"]
        self.namespace = str(meta.get("namespace") or "default")
        self.name = str(meta["name"])
        self.uid = str(meta.get("uid") or "")
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        self.restart_policy = str(spec.get("restartPolicy") or "Always")
        self.previous_statuses = {
            str(s.get("name")): s for s in status.get("containerStatuses") or []
        }
        self.start_time = str(status.get("startTime") or pod_status.now_rfc3339())
        self.pod_dir = kubelet.pod_dir(self.namespace, self.name, self.uid)
        self.stopping = asyncio.Event()
        self.grace = grace_seconds(pod)
        self.deleted = False  # the object is gone from the API
        self.failed = False  # ended by an error, not by its containers or a deletion
        self.sandbox_ready = False
        self.place = PodPlace(pod_ip="", cpu=kubelet.machine_cpu, memory=kubelet.machine_memory)
        self.volumes = PodVolumes()
        self.sandbox_env: dict[str, str] = {}
        self.task: asyncio.Task[None] | None = None
        self.runners: list[ContainerRunner] = []
        self._status_lock = asyncio.Lock()
        self._last_status: Obj | None = None
        self._unsupported: str | None = None
        if spec.get("initContainers"):
            self._unsupported = "init containers are not supported by the local process kubelet"
        self.runners = [ContainerRunner(self, c) for c in spec.get("containers") or []]

    @property
    def pod_path(self) -> str:
        return resource_path("v1", "pods", self.namespace, self.name)

    def event(self, kind: str, reason: str, message: str, field_path: str | None = None) -> None:
        if not self.deleted:
            self.kubelet.events.emit({"kind": "Pod", **self.pod}, kind, reason, message, field_path)

    def stop(self, grace: float, deleted: bool) -> None:
        """Ask the worker to terminate its processes within ``grace`` seconds."""
        self.grace = min(self.grace, grace) if self.stopping.is_set() else grace
        self.deleted = self.deleted or deleted
        self.stopping.set()

    async def wait_or_stop(self, seconds: float) -> None:
        """Wait ``seconds``; raises PodStopped when the pod is being deleted meanwhile."""
        if not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)
        if self.stopping.is_set():
            raise PodStopped

    def compose(self) -> Obj:
        """The pod's status now."""
        terminal = self.stopping.is_set() and all(r.process is None for r in self.runners)
        return pod_status.pod_status(
            self.pod,
            [r.view for r in self.runners],
            pod_ip=self.place.pod_ip,
            start_time=self.start_time,
            sandbox_ready=self.sandbox_ready,
            terminal=terminal and all(r.done for r in self.runners),
            message=self._unsupported,
        )

    async def publish(self) -> None:
        """Write the pod's current status (skipped when nothing changed or the pod is gone)."""
        async with self._status_lock:
            if self.deleted:
                return
            status = self.compose()
            if status == self._last_status:
                return
            client = self.kubelet.client
            # Only this worker writes this pod's status and each patch carries the
            # whole status: one that cannot be written is superseded by the next.
            try:
                patched = await with_retries(
                    lambda: client.merge_patch(self.pod_path + "/status", {"status": status})
                )
            except CALL_ERRORS as exc:
                log.warning("pod %s/%s: status not written: %s", self.namespace, self.name, exc)
                return
            self._last_status = status
            if patched is not None:
                self.pod = patched

    async def run(self) -> None:
        """Run the pod; cancelled (the kubelet stops): kill the processes, write nothing."""
        try:
            await self._run()
        except asyncio.CancelledError:
            self.kill()
            raise
        except PodStopped:
            pass
        except Exception as exc:
            # The API kept refusing (status, tokens): stop what runs, let the kubelet retry.
            log.warning("pod %s/%s: will retry: %s", self.namespace, self.name, exc)
            self.kill()
            self.failed = True
        await self._finish_deletion()

    def kill(self) -> bool:
        """SIGKILL every process of the pod; False if none runs."""
        killed = False
        for runner in self.runners:
            if runner.process is not None:
                runner.process.signal(signal.SIGKILL)
                killed = True
        return killed

    async def _run(self) -> None:
        kubelet = self.kubelet
        wanted_ip = (self.pod.get("status") or {}).get("podIP")
        ip = kubelet.pod_ips.allocate(self.uid, str(wanted_ip) if wanted_ip else None)
        self.place = PodPlace(pod_ip=ip, cpu=kubelet.machine_cpu, memory=kubelet.machine_memory)
        if self._unsupported:
            self.event("Warning", "Failed", f"Error: {self._unsupported}")
            for runner in self.runners:
                runner.view.state = waiting_state("CreateContainerConfigError", self._unsupported)
            await self.publish()
            await self.stopping.wait()
            return
        fresh = all(not r.done and not r.view.last_state for r in self.runners)
        if kubelet.config.pod_start_delay > 0 and fresh:
            # Visible as ContainerCreating while the simulated sandbox/image start lasts.
            await self.publish()
            await self.wait_or_stop(kubelet.config.pod_start_delay)
        await self._sandbox()
        self.sandbox_ready = True
        await self.publish()
        rotation = asyncio.ensure_future(self._rotate_tokens())
        try:
            await asyncio.gather(*(r.run() for r in self.runners))
        finally:
            rotation.cancel()
        await self.publish()

    async def _sandbox(self) -> None:
        """Volumes as files and the pod's API identity; FailedMount until they can be made."""
        reported = ""
        while True:
            try:
                self.volumes = await write_volumes(
                    self.pod, self.pod_dir / "volumes", self.kubelet.lookup, self.issue_token,
                    self.place,
                )  # fmt: skip
                break
            except (VolumeError, EnvError) as exc:
                message = f"MountVolume.SetUp failed: {exc}"
                if message != reported:
                    reported = message
                    self.event("Warning", "FailedMount", message)
                await self.publish()
                await self.wait_or_stop(2.0)
        self.sandbox_env = self._identity()

    def _identity(self) -> dict[str, str]:
        """The env that points the pod's processes at the API (a kubeconfig per pod)."""
        host, port = self.kubelet.config.api_host_port
        env = {
            "KUBERNETES_SERVICE_HOST": host,
            "KUBERNETES_SERVICE_PORT": str(port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(port),
            "GUESTBOOK_POD_IP": self.place.pod_ip,
        }
        folder = self._service_account_folder()
        if folder is None:
            return env  # automountServiceAccountToken: false
        link = self.pod_dir / "serviceaccount"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(folder)
        ca = folder / "ca.crt"
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": self.kubelet.config.server_url,
                        "certificate-authority": str(
                            ca if ca.exists() else self.kubelet.config.ca_file
                        ),
                    },
                }
            ],
            "users": [{"name": "pod", "user": {"tokenFile": str(folder / "token")}}],
            "contexts": [
                {
                    "name": "pod",
                    "context": {"cluster": "local", "user": "pod", "namespace": self.namespace},
                }
            ],
            "current-context": "pod",
        }
        path = self.pod_dir / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
        os.chmod(path, 0o600)
        env["KUBECONFIG"] = str(path)
        return env

    def _service_account_folder(self) -> Path | None:
        """The folder of the volume mounted at the ServiceAccount path, if any container has one."""
        for container in (self.pod.get("spec") or {}).get("containers") or []:
            for mount in container.get("volumeMounts") or []:
                if str(mount.get("mountPath") or "").rstrip("/") == SERVICE_ACCOUNT_MOUNT:
                    return self.volumes.folders.get(str(mount.get("name")))
        return None

    async def issue_token(
        self, service_account: str, audience: str | None, seconds: int
    ) -> TokenGrant:
        """A token for ``service_account`` bound to this pod (TokenRequest API).

        Raises VolumeError when the API refuses (a missing ServiceAccount, or the
        Node authorizer not yet knowing the pod is bound here).
        """
        body: Obj = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "expirationSeconds": seconds,
                "boundObjectRef": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": self.name,
                    "uid": self.uid,
                },
            },
        }
        if audience:
            body["spec"]["audiences"] = [audience]
        path = resource_path("v1", "serviceaccounts", self.namespace, service_account) + "/token"
        try:
            answer = await with_retries(lambda: self.kubelet.client.create(path, body))
        except ApiError as exc:
            raise VolumeError(
                f'failed to fetch token: serviceaccounts "{service_account}": {exc.message}'
            ) from exc
        status = answer.get("status") or {}
        expires = datetime.datetime.fromisoformat(
            str(status.get("expirationTimestamp") or "").replace("Z", "+00:00")
        )
        return TokenGrant(str(status.get("token") or ""), expires)

    async def _rotate_tokens(self) -> None:
        while True:
            due = self.volumes.next_rotation()
            if due is None:
                return
            now = datetime.datetime.now(datetime.UTC)
            await asyncio.sleep(max((due - now).total_seconds(), 1.0))
            try:
                await self.volumes.rotate_tokens(
                    self.issue_token, datetime.datetime.now(datetime.UTC)
                )
            except (VolumeError, *CALL_ERRORS) as exc:
                log.warning("pod %s/%s: token not rotated: %s", self.namespace, self.name, exc)
                await asyncio.sleep(10.0)

    async def _finish_deletion(self) -> None:
        """A pod deleted gracefully is removed for good once its processes ended."""
        if not self.stopping.is_set() or self.deleted:
            return
        await self.publish()
        self.kubelet.removed.add(self.uid)
        options = {"gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
        with contextlib.suppress(*CALL_ERRORS):
            await with_retries(lambda: self.kubelet.client.delete(self.pod_path, options))
