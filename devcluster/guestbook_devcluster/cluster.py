"""``DevCluster``: the local API server in-process, for tests and the CLI.

    async with DevCluster() as cluster:          # or: with DevCluster() as cluster:
        cluster.write_kubeconfig(path)
        ...                                       # kubectl, kopf, clients use cluster.url

The server runs uvicorn in its own thread (with its own event loop), so sync
and async code can use it alike, and it listens on 127.0.0.1 (a free port
unless ``port`` is given).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
import yaml

from guestbook_devcluster import lifecycle
from guestbook_devcluster.context import ApiContext
from guestbook_devcluster.logs import LogSource
from guestbook_devcluster.persistence import Persistence
from guestbook_devcluster.registry import NAMESPACE_KEY, Registry
from guestbook_devcluster.server import build_app
from guestbook_devcluster.services import ClusterServices
from guestbook_devcluster.sqlite_persistence import SqlitePersistence
from guestbook_devcluster.storage import DEFAULT_HISTORY, Storage

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_TOKEN = "devcluster-admin-token"


def bootstrap(storage: Storage, registry: Registry) -> None:
    """Create what every cluster starts with (namespaces, the `kubernetes` Service)."""
    from guestbook_devcluster import admission

    info = registry.lookup("", "v1", "namespaces")
    assert info is not None
    for name in DEFAULT_NAMESPACES:
        if storage.find(NAMESPACE_KEY, "", name) is None:
            obj: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            }
            obj, _ = admission.prepare_create(info, obj, registry, field_validation="Strict")
            storage.create(info, obj)
    services = registry.lookup("", "v1", "services")
    assert services is not None
    if storage.find(services.key, "default", "kubernetes") is None:
        service: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        }
        storage.create(services, service)


class DevCluster:
    """A running local Kubernetes API server.

    ``persistence`` keeps objects across restarts (default: memory only);
    ``bookmark_interval`` is the seconds between watch BOOKMARK events.
    Raises OSError from ``start`` when the port is taken.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        persistence: Persistence | None = None,
        history_size: int = DEFAULT_HISTORY,
        bookmark_interval: float = 30.0,
        token: str = DEFAULT_TOKEN,
        data_dir: Path | None = None,
        job_runner: bool = True,
        pod_start_delay: float = 0.0,
        authorization: str = "AlwaysAllow",
    ) -> None:
        self.host = host
        self.requested_port = port
        self.token = token
        self.registry = Registry()
        if data_dir is not None and persistence is None:
            # --data-dir: objects in SQLite, pod files and the token key beside them.
            persistence = SqlitePersistence(data_dir)
        self.storage = Storage(self.registry, persistence, history_size=history_size)
        lifecycle.install(self.storage, self.registry)
        bootstrap(self.storage, self.registry)
        self.context = ApiContext(
            registry=self.registry, storage=self.storage, bookmark_interval=bookmark_interval
        )
        # Job runner, request gate (tokens, RBAC, faults, request log): services.py.
        self.services = ClusterServices(
            self,
            job_runner=job_runner,
            pod_start_delay=pod_start_delay,
            authorization=authorization,
            state_dir=data_dir,
        )
        self.app = self.services.wrap(build_app(self.context), token)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = port

    # -- properties -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL clients use, e.g. ``http://127.0.0.1:43123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def logs(self) -> LogSource:
        return self.context.logs

    @logs.setter
    def logs(self, source: LogSource) -> None:
        """Install the source of pod logs (the job runner does this)."""
        self.context.logs = source

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> None:
        """Bind the port and serve in a background thread; returns once listening."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        sock.listen(2048)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self.context.server_address = f"{self.host}:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            lifespan="off",
            backlog=2048,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="devcluster", daemon=True
        )
        self._thread.start()
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the local API server failed to start; see the log above")
            threading.Event().wait(0.01)
        self.services.start(self.url)

    def stop(self) -> None:
        """Stop the job runner, end every watch, stop serving and wait for the thread.

        The job runner stops first (its pod processes are killed, their pods stay
        as they were, like a node that went away), so no controller reconnects
        its watches while the server shuts down.
        """
        self.services.stop()
        self.storage.close_watchers()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self.storage.persistence.close()

    def __enter__(self) -> DevCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> DevCluster:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # -- clients ----------------------------------------------------------------

    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig for this server: plain HTTP on loopback, bearer-token user."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "devcluster", "cluster": {"server": self.url}}],
            "users": [{"name": "devcluster-admin", "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": "devcluster",
                    "context": {
                        "cluster": "devcluster",
                        "user": "devcluster-admin",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "devcluster",
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        """Write the kubeconfig to ``path`` (parents created, mode 0600); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig(namespace), sort_keys=False))
        target.chmod(0o600)
        return target
