"""The Node object, its status and its Lease, as a kubelet keeps them.

Pure builders (:func:`node_object`, :func:`node_status`, :func:`lease_object`)
plus :class:`NodeAgent`, which registers the Node, renews its Lease in
``kube-node-lease`` every ``lease_renew_seconds`` (the node lifecycle
controller's heartbeat) and posts the node status every
``node_status_seconds`` (conditions with fresh heartbeat times).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guestbook_kube.client import CALL_ERRORS, ApiClient, ApiError, resource_path, with_retries

from .config import KUBELET_VERSION, KubeletConfig
from .pod_status import HOST_IP, now_micro_time, now_rfc3339

Obj = dict[str, Any]
log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
CONTAINER_RUNTIME = "process://guestbook-ledger-process-kubelet"


@dataclass(frozen=True)
class Machine:
    """What the node offers: cores, memory and disk (bytes), and its identity."""

    cpu: float
    memory: int
    disk: int
    machine_id: str
    boot_id: str
    kernel: str
    os_image: str
    architecture: str

    @classmethod
    def detect(
        cls, state_dir: Path, cpu: float | None = None, memory: int | None = None
    ) -> Machine:
        """This machine (``cpu``/``memory`` override what is detected)."""
        total = memory
        if total is None:
            total = 1 << 30
            try:
                for line in Path("/proc/meminfo").read_text().splitlines():
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
            except OSError:
                pass
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            cpu=float(cpu if cpu is not None else os.cpu_count() or 1),
            memory=total,
            disk=shutil.disk_usage(state_dir).total,
            machine_id=_read("/etc/machine-id")
            or uuid.uuid5(uuid.NAMESPACE_DNS, platform.node()).hex,
            boot_id=_read("/proc/sys/kernel/random/boot_id") or "",
            kernel=platform.release(),
            os_image=_os_image(),
            architecture={"x86_64": "amd64", "aarch64": "arm64"}.get(
                platform.machine(), platform.machine()
            ),
        )


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip('"')
    return platform.system()


def _cpu_quantity(cores: float) -> str:
    return str(int(cores)) if cores == int(cores) else f"{round(cores * 1000)}m"


def _conditions(now: str, previous: list[Obj]) -> list[Obj]:
    before = {str(c.get("type")): c for c in previous}
    healthy = {
        "MemoryPressure": (
            "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
        ),
        "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
    }  # fmt: skip
    conditions = []
    for kind, (status, reason, message) in healthy.items():
        old = before.get(kind) or {}
        transition = old.get("lastTransitionTime") if old.get("status") == status else None
        conditions.append(
            {
                "type": kind,
                "status": status,
                "reason": reason,
                "message": message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": transition or now,
            }
        )
    return conditions


def node_status(
    config: KubeletConfig,
    machine: Machine,
    port: int,
    previous: Obj | None = None,
    now: str | None = None,
) -> Obj:
    """The Node's ``status`` (``previous`` keeps the conditions' transition times)."""
    now = now or now_rfc3339()
    resources = {
        "cpu": _cpu_quantity(machine.cpu),
        "memory": f"{machine.memory // 1024}Ki",
        "ephemeral-storage": f"{machine.disk // 1024}Ki",
        "pods": str(config.max_pods),
    }
    return {
        "capacity": resources,
        "allocatable": dict(resources),
        "conditions": _conditions(now, list((previous or {}).get("conditions") or [])),
        "addresses": [
            {"type": "InternalIP", "address": HOST_IP},
            {"type": "Hostname", "address": config.node_name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": machine.machine_id,
            "systemUUID": machine.machine_id,
            "bootID": machine.boot_id,
            "kernelVersion": machine.kernel,
            "osImage": machine.os_image,
            "containerRuntimeVersion": CONTAINER_RUNTIME,
            "kubeletVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": machine.architecture,
        },
    }


def node_object(config: KubeletConfig, machine: Machine, port: int) -> Obj:
    """The Node the kubelet registers (labels NodeRestriction lets a node set itself)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": config.node_name,
            "labels": {
                "kubernetes.io/hostname": config.node_name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": machine.architecture,
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": machine.architecture,
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": node_status(config, machine, port),
    }


def lease_object(config: KubeletConfig, node_uid: str, renew_time: str) -> Obj:
    """The node's Lease in ``kube-node-lease``, owned by its Node (deleted with it)."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": config.node_name,
            "namespace": LEASE_NAMESPACE,
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": config.node_name, "uid": node_uid}
            ],
        },
        "spec": {
            "holderIdentity": config.node_name,
            "leaseDurationSeconds": config.lease_duration_seconds,
            "renewTime": renew_time,
        },
    }


class NodeAgent:
    """Registers the Node and keeps its Lease and status fresh."""

    def __init__(self, client: ApiClient, config: KubeletConfig, port: int) -> None:
        self.client = client
        self.config = config
        self.port = port
        self.machine = Machine.detect(config.state_dir, config.cpu, config.memory)
        self.node: Obj | None = None
        self.node_path = resource_path("v1", "nodes", name=config.node_name)
        self.lease_path = resource_path(
            "coordination.k8s.io/v1", "leases", LEASE_NAMESPACE, config.node_name
        )

    async def register(self) -> Obj:
        """Create the Node, or take over the existing one (a restarted kubelet)."""
        wanted = node_object(self.config, self.machine, self.port)
        try:
            node = await with_retries(
                lambda: self.client.create(resource_path("v1", "nodes"), wanted)
            )
        except ApiError as exc:
            if exc.code != 409:
                raise
            node = await self.post_status()
        else:
            node = await self.post_status(node)  # status on create may be dropped: post it
        self.node = node
        return node

    async def post_status(self, node: Obj | None = None) -> Obj:
        """Patch ``nodes/<name>/status`` with fresh conditions; the updated Node."""
        current = node or await with_retries(lambda: self.client.get(self.node_path))
        previous = (current or {}).get("status") or {}
        status = node_status(self.config, self.machine, self.port, previous)
        patched = await with_retries(
            lambda: self.client.merge_patch(self.node_path + "/status", {"status": status})
        )
        if patched is None:
            raise ApiError(404, "NotFound", f'node "{self.config.node_name}" was deleted')
        self.node = patched
        return patched

    async def renew_lease(self) -> None:
        """Create or renew the Lease (renewTime = now)."""
        node_uid = str(((self.node or {}).get("metadata") or {}).get("uid") or "")
        now = now_micro_time()
        patched = await with_retries(
            lambda: self.client.merge_patch(
                self.lease_path,
                {"spec": {"holderIdentity": self.config.node_name, "renewTime": now}},
            )
        )
        if patched is None:
            await with_retries(
                lambda: self.client.create(
                    resource_path("coordination.k8s.io/v1", "leases", LEASE_NAMESPACE),
                    lease_object(self.config, node_uid, now),
                )
            )

    async def run(self) -> None:
        """Renew the lease and post status until cancelled (errors are logged, retried)."""
        loop = asyncio.get_running_loop()
        next_status = loop.time() + self.config.node_status_seconds
        while True:
            try:
                await self.renew_lease()
                if loop.time() >= next_status:
                    next_status = loop.time() + self.config.node_status_seconds
                    await self.post_status()
            except ApiError as exc:
                if exc.code == 404:  # the Node was deleted (kubectl delete node): register again
                    log.warning("node %s is gone; registering it again", self.config.node_name)
                    try:
                        await self.register()
                    except CALL_ERRORS as again:
                        log.warning("node registration failed: %s", again)
                else:
                    log.warning("node heartbeat failed: %s", exc)
            except CALL_ERRORS as exc:
                log.warning("node heartbeat failed: %s", exc)
            await asyncio.sleep(self.config.lease_renew_seconds)
