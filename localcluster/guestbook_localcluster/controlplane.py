"""The Kubernetes control plane as local child processes: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, the upstream binaries (decision 0090).

Modelled on envtest: plain processes, no root, certificates generated into the
data directory. Unlike envtest it runs the controller manager and scheduler
too, with the settings of a kubeadm cluster (Node+RBAC authorization, the
default admission plugins including ServiceAccount and PodSecurity, NodeRestriction,
ServiceAccount token signing, an audit log), so that Deployments, Jobs,
garbage collection, namespaces and ServiceAccounts behave as on any cluster.

Everything lives in one data directory (PKI, etcd's data, kubeconfigs, logs,
the ports chosen on first start), so a restarted control plane is the same
cluster: same CA, same objects, same address.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from .kubeconfig import write_kubeconfig
from .pki import KeyPair, Pki
from .processes import ChildProcess
from .upstream import ETCD_VERSION, KUBERNETES_VERSION, Binaries

HOST = "127.0.0.1"
SERVICE_CIDR = "10.96.0.0/16"
ISSUER = "https://kubernetes.default.svc.cluster.local"
STATE_FILE = "cluster.json"
# Every request's metadata (who, verb, resource, decision), for least-privilege checks.
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
"""


class ControlPlaneError(Exception):
    """The control plane cannot start; the message says why and what to do."""


@dataclass
class Ports:
    """The loopback ports of one cluster, chosen once and kept in the data directory."""

    apiserver: int
    etcd_client: int
    etcd_peer: int
    controller_manager: int
    scheduler: int
    kubelet: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


@dataclass
class ClusterState:
    """What ``cluster.json`` records: the versions that made the data and the ports."""

    kubernetes: str
    etcd: str
    ports: Ports

    @classmethod
    def load(cls, path: Path) -> ClusterState | None:
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["kubernetes"], raw["etcd"], Ports(**raw["ports"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ControlPlaneError(
                f"{path} is not a local cluster's state file ({exc}); delete the data "
                "directory or choose another one."
            ) from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def _say(message: str) -> None:
    print(message, flush=True)


class ControlPlane:
    """etcd, kube-apiserver, kube-controller-manager and kube-scheduler in ``data_dir``.

    ``apiserver_port`` fixes the API server's port on first start (0: any free
    port). ``durable=False`` runs etcd without fsync (tests: faster, and
    nothing needs to survive a power cut). Use :meth:`start` / :meth:`stop`,
    or ``with ControlPlane(...) as cp:``.
    """

    def __init__(
        self,
        data_dir: Path,
        binaries: Binaries,
        *,
        apiserver_port: int = 0,
        durable: bool = True,
        progress: Callable[[str], None] = _say,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.binaries = binaries
        self.durable = durable
        self.progress = progress
        self.pki = Pki(self.data_dir / "pki")
        self.ports = self._ports(apiserver_port)
        self.processes: dict[str, ChildProcess] = {}

    # -- layout ----------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return f"https://{HOST}:{self.ports.apiserver}"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.data_dir / "logs" / "audit.log"

    def log_of(self, name: str) -> Path:
        return self.data_dir / "logs" / f"{name}.log"

    def _ports(self, apiserver_port: int) -> Ports:
        state_file = self.data_dir / STATE_FILE
        state = ClusterState.load(state_file)
        if state is not None:
            if (state.kubernetes, state.etcd) != (KUBERNETES_VERSION, ETCD_VERSION):
                raise ControlPlaneError(
                    f"The data directory {self.data_dir} was made by Kubernetes "
                    f"{state.kubernetes} with etcd {state.etcd}, this is {KUBERNETES_VERSION} "
                    f"with etcd {ETCD_VERSION}: delete it (its objects are lost) or choose "
                    "another data directory."
                )
            if apiserver_port and apiserver_port != state.ports.apiserver:
                raise ControlPlaneError(
                    f"The cluster in {self.data_dir} listens on port {state.ports.apiserver}; "
                    f"drop the port option, or delete the data directory to use {apiserver_port}."
                )
            return state.ports
        ports = Ports(
            apiserver=apiserver_port or free_port(),
            etcd_client=free_port(),
            etcd_peer=free_port(),
            controller_manager=free_port(),
            scheduler=free_port(),
            kubelet=free_port(),
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ClusterState(KUBERNETES_VERSION, ETCD_VERSION, ports).save(state_file)
        return ports

    # -- credentials -------------------------------------------------------------

    def _credentials(self) -> dict[str, KeyPair]:
        pki = self.pki
        pki.ca()
        pki.service_account_keys()
        return {
            "apiserver": pki.serving(
                "apiserver",
                (
                    "localhost",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ),
                (HOST, "10.96.0.1"),
            ),
            "apiserver-kubelet-client": pki.client(
                "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",)
            ),
            "admin": pki.client("admin", "kubernetes-admin", ("system:masters",)),
            "controller-manager": pki.client(
                "controller-manager", "system:kube-controller-manager"
            ),
            "scheduler": pki.client("scheduler", "system:kube-scheduler"),
        }

    def kubelet_credentials(self, node: str) -> tuple[KeyPair, KeyPair]:
        """(client, serving) certificates of the kubelet of ``node`` (Node authorizer identity)."""
        client = self.pki.client(f"kubelet-{node}", f"system:node:{node}", ("system:nodes",))
        serving = self.pki.serving(f"kubelet-serving-{node}", ("localhost", node), (HOST,))
        return client, serving

    # -- processes ---------------------------------------------------------------

    def _commands(self, creds: dict[str, KeyPair]) -> dict[str, list[str]]:
        d, p, pki, b = self.data_dir, self.ports, self.pki, self.binaries
        etcd_url = f"http://{HOST}:{p.etcd_client}"
        peer_url = f"http://{HOST}:{p.etcd_peer}"
        kubeconfigs = {
            name: write_kubeconfig(
                d / "kubeconfigs" / f"{name}.kubeconfig",
                self.server_url,
                pki.ca_cert,
                user,
                creds[name],
            )
            for name, user in (
                ("controller-manager", "system:kube-controller-manager"),
                ("scheduler", "system:kube-scheduler"),
            )
        }
        write_kubeconfig(
            self.admin_kubeconfig, self.server_url, pki.ca_cert, "kubernetes-admin", creds["admin"]
        )
        policy = d / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY, encoding="utf-8")
        sa = pki.service_account_keys()
        etcd = [
            str(b["etcd"]),
            "--name=local",
            f"--data-dir={d / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=local={peer_url}",
            "--listen-metrics-urls=",
            "--log-level=warn",
        ]
        if not self.durable:
            etcd.append("--unsafe-no-fsync")
        apiserver = [
            str(b["kube-apiserver"]),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={p.apiserver}",
            f"--cert-dir={d / 'apiserver-certs'}",
            f"--tls-cert-file={creds['apiserver'].cert}",
            f"--tls-private-key-file={creds['apiserver'].key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--service-account-key-file={sa.cert}",
            f"--service-account-signing-key-file={sa.key}",
            f"--service-account-issuer={ISSUER}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-maxsize=200",
            "--audit-log-maxbackup=3",
            f"--kubelet-client-certificate={creds['apiserver-kubelet-client'].cert}",
            f"--kubelet-client-key={creds['apiserver-kubelet-client'].key}",
            f"--kubelet-certificate-authority={pki.ca_cert}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--allow-privileged=false",
            "--profiling=false",
            "--v=1",
        ]
        common = [
            f"--bind-address={HOST}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]
        controller_manager = [
            str(b["kube-controller-manager"]),
            f"--kubeconfig={kubeconfigs['controller-manager']}",
            f"--authentication-kubeconfig={kubeconfigs['controller-manager']}",
            f"--authorization-kubeconfig={kubeconfigs['controller-manager']}",
            f"--secure-port={p.controller_manager}",
            f"--cert-dir={d / 'controller-manager-certs'}",
            f"--service-account-private-key-file={sa.key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.folder / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--use-service-account-credentials=true",
            "--cluster-name=guestbook-local",
            *common,
        ]
        scheduler = [
            str(b["kube-scheduler"]),
            f"--kubeconfig={kubeconfigs['scheduler']}",
            f"--authentication-kubeconfig={kubeconfigs['scheduler']}",
            f"--authorization-kubeconfig={kubeconfigs['scheduler']}",
            f"--secure-port={p.scheduler}",
            f"--cert-dir={d / 'scheduler-certs'}",
            *common,
        ]
        return {
            "etcd": etcd,
            "kube-apiserver": apiserver,
            "kube-controller-manager": controller_manager,
            "kube-scheduler": scheduler,
        }

    def _port_of(self, name: str) -> int:
        return {
            "etcd": self.ports.etcd_client,
            "kube-apiserver": self.ports.apiserver,
            "kube-controller-manager": self.ports.controller_manager,
            "kube-scheduler": self.ports.scheduler,
        }[name]

    def start(self, timeout: float = 120.0) -> None:
        """Start every component and wait until each answers its health check.

        Raises ControlPlaneError (after stopping what it started) when a port is
        taken or a component exits or does not become healthy in ``timeout`` s.
        """
        began = time.monotonic()
        for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
            if name not in self.processes or not self.processes[name].running:
                port = self._port_of(name)
                if port_in_use(port):
                    self.stop()
                    raise ControlPlaneError(
                        f"Port {port} on {HOST}, which {name} of the cluster in {self.data_dir} "
                        "uses, is taken by another program: stop that program, or delete the "
                        "data directory to pick new ports."
                    )
        creds = self._credentials()
        commands = self._commands(creds)
        try:
            for name, argv in commands.items():
                process = self.processes.get(name)
                if process is None:
                    process = ChildProcess(name, argv, self.log_of(name))
                    self.processes[name] = process
                process.start()
                self._wait_healthy(name, deadline=began + timeout)
        except ControlPlaneError:
            self.stop()
            raise
        self.progress(
            f"Kubernetes {KUBERNETES_VERSION} control plane ready at {self.server_url} "
            f"in {time.monotonic() - began:.1f} s"
        )

    def start_component(self, name: str, timeout: float = 60.0) -> None:
        """Start one (stopped or killed) component again and wait until it is healthy."""
        self.processes[name].start()
        self._wait_healthy(name, deadline=time.monotonic() + timeout)

    def kill_component(self, name: str) -> None:
        """SIGKILL one component (fault injection); :meth:`start_component` restarts it."""
        self.processes[name].kill()

    def stop(self) -> None:
        """Stop every component, the API server's clients first, etcd last."""
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            process = self.processes.get(name)
            if process is not None:
                process.stop()

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- health ----------------------------------------------------------------

    def admin_tls(self) -> ssl.SSLContext:
        """An SSL context that trusts the cluster CA and presents the admin certificate."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        admin = self.pki.client("admin", "kubernetes-admin", ("system:masters",))
        context.load_cert_chain(str(admin.cert), str(admin.key))
        return context

    def _health_url(self, name: str) -> tuple[str, ssl.SSLContext]:
        if name == "etcd":
            return f"http://{HOST}:{self.ports.etcd_client}/health", ssl.create_default_context()
        if name == "kube-apiserver":
            return f"{self.server_url}/readyz", self.admin_tls()
        # The controller manager and scheduler serve /healthz to anyone, with
        # self-signed certificates of their own.
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        return f"https://{HOST}:{self._port_of(name)}/healthz", insecure

    def healthy(self, name: str) -> bool:
        url, context = self._health_url(name)
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _wait_healthy(self, name: str, deadline: float) -> None:
        process = self.processes[name]
        while True:
            code = process.exit_code()
            if code is not None:
                raise ControlPlaneError(
                    f"{name} exited with status {code} at start; its log "
                    f"({process.log}) ends with:\n{process.log_tail()}"
                )
            if self.healthy(name):
                return
            if time.monotonic() > deadline:
                raise ControlPlaneError(
                    f"{name} did not become healthy in time; its log ({process.log}) ends "
                    f"with:\n{process.log_tail()}"
                )
            time.sleep(0.1)
