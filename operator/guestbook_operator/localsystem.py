"""The whole system on one machine: the local Kubernetes API with its job runner,
PostgreSQL, the CRDs, a Ledger and the operator (as a child process).

Used by `guestbook-ledger dev` and by the end-to-end tests, so both run the
same thing. Every server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from guestbook_devcluster.cluster import DevCluster
from guestbook_devcluster.jobrunner import JobRunner
from guestbook_devcluster.kubectl import Kubectl

from guestbook_operator.child_process import die_with_parent
from guestbook_operator.kube import JSON

CRD_FILES = ("guestbookentries.yaml", "ledgers.yaml", "kopf-peering.yaml")


def crds_dir() -> Path:
    """The folder of CRD manifests: the repository's ``crds/`` or the installed copy."""
    here = Path(__file__).resolve()
    candidates = [
        here.parents[2] / "crds",  # a checkout: operator/guestbook_operator/ -> crds/
        here.parents[1] / "guestbook_ledger" / "_data" / "crds",  # an installed wheel
    ]
    for candidate in candidates:
        if (candidate / CRD_FILES[0]).is_file():
            return candidate
    raise FileNotFoundError(
        "The CRD manifests are missing (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall guestbook-ledger."
    )


def install_crds(kubeconfig: Path) -> None:
    """Create or replace the project's CRDs through the API (as ``kubectl apply`` would)."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api_client = config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        api = client.ApiextensionsV1Api(api_client)
        manifests = [
            doc
            for name in CRD_FILES
            for doc in yaml.safe_load_all((crds_dir() / name).read_text(encoding="utf-8"))
            if doc
        ]
        for manifest in manifests:
            try:
                api.create_custom_resource_definition(manifest, _content_type=JSON)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = api.read_custom_resource_definition(manifest["metadata"]["name"])
                assert current.metadata is not None
                manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
                api.replace_custom_resource_definition(
                    manifest["metadata"]["name"], manifest, _content_type=JSON
                )
    finally:
        api_client.close()


def create_ledger(kubeconfig: Path, manifest: dict[str, Any]) -> None:
    """Create the Ledger unless one of that name exists."""
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    api_client = config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "ledger.guestbook.io",
            "v1alpha1",
            manifest["metadata"]["namespace"],
            "ledgers",
            manifest,
            _content_type=JSON,
        )
    except ApiException as exc:
        if exc.status != 409:
            raise
    finally:
        api_client.close()


def ledger_manifest(
    name: str = "guestbook", namespace: str = "default", spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec or {},
    }


@dataclass
class LocalSystem:
    """A started local system; ``stop()`` ends everything it started, in reverse."""

    state_dir: Path
    dsn: str
    cluster: DevCluster | None  # None: the API server runs as its own process
    kubeconfig: Path
    kubectl: Kubectl
    operator_env: dict[str, str]
    api_process: subprocess.Popen[bytes] | None = None
    operators: list[subprocess.Popen[bytes]] = field(default_factory=list)
    operator_log: Path | None = None
    webui: subprocess.Popen[bytes] | None = None
    webui_url: str = ""
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        """The API server's URL, as the kubeconfig names it."""
        config = yaml.safe_load(self.kubeconfig.read_text(encoding="utf-8"))
        return str(config["clusters"][0]["cluster"]["server"])

    @property
    def runner(self) -> JobRunner:
        """The API server's job runner (runs the pods of Jobs as local processes)."""
        assert self.cluster is not None, "the API server runs in another process"
        runner = self.cluster.services.runner
        assert runner is not None  # started with the cluster
        return runner

    # -- the operator process --------------------------------------------------

    @property
    def operator(self) -> subprocess.Popen[bytes] | None:
        """The operator process started last."""
        return self.operators[-1] if self.operators else None

    def start_operator(self, *extra_args: str) -> subprocess.Popen[bytes]:
        """Start another ``guestbook-ledger operator`` (output appended to ``operator.log``)."""
        self.operator_log = self.state_dir / "operator.log"
        if self._log_file is None:
            self._log_file = self.operator_log.open("ab")
        env = {**os.environ, **self.operator_env}
        process = subprocess.Popen(
            [sys.executable, "-m", "guestbook_ledger", "operator", *extra_args],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
            preexec_fn=die_with_parent,
        )
        self.operators.append(process)
        return process

    def kill_operator(self, process: subprocess.Popen[bytes] | None = None) -> None:
        """SIGKILL an operator (default: every one running), as a crash: no cleanup runs."""
        for each in [process] if process is not None else list(self.operators):
            if each.poll() is None:
                each.kill()
                each.wait(30)

    def stop_operator(self, timeout: float = 30.0) -> None:
        """SIGTERM every operator and wait; SIGKILL any that does not exit in ``timeout``."""
        for process in self.operators:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.operators:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- the web UI ------------------------------------------------------------

    def start_webui(self, port: int) -> str:
        """Start ``guestbook-ledger webui`` on 127.0.0.1:``port`` (0: a free port); its URL."""
        if port == 0:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        log = (self.state_dir / "webui.log").open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.webui = subprocess.Popen(
            [
                sys.executable, "-m", "guestbook_ledger", "webui",
                "--host", "127.0.0.1", "--port", str(port),
                "--kubeconfig", str(self.kubeconfig), "--dsn", self.dsn,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )  # fmt: skip
        log.close()  # the child has its own descriptor
        self.webui_url = f"http://127.0.0.1:{port}/"
        return self.webui_url

    def stop_webui(self) -> None:
        if self.webui is not None and self.webui.poll() is None:
            self.webui.send_signal(signal.SIGTERM)
            try:
                self.webui.wait(15)
            except subprocess.TimeoutExpired:
                self.webui.kill()
                self.webui.wait(15)

    # -- resources -------------------------------------------------------------

    def apply(self, manifest: dict[str, Any]) -> str:
        """``kubectl apply`` one manifest; returns kubectl's output."""
        return self.kubectl("apply", "-f", "-", input=yaml.safe_dump(manifest))

    def stop(self) -> None:
        self.stop_webui()
        self.stop_operator()
        if self.cluster is not None:
            self.cluster.stop()
        if self.api_process is not None and self.api_process.poll() is None:
            self.api_process.send_signal(signal.SIGINT)
            try:
                self.api_process.wait(30)
            except subprocess.TimeoutExpired:
                self.api_process.kill()
                self.api_process.wait(30)


def start_local_system(
    state_dir: Path,
    dsn: str,
    *,
    port: int = 0,
    persistent: bool = False,
    pod_start_delay: float = 0.0,
    operator_env: dict[str, str] | None = None,
    separate_process: bool = False,
) -> LocalSystem:
    """Start the API server with its job runner and apply the CRDs; the operator is
    not started yet.

    ``dsn`` is the ledger database. ``persistent`` keeps the API server's objects
    in ``state_dir/cluster`` across runs. ``separate_process`` runs the API server
    as its own process (`guestbook-ledger devcluster`), as a real cluster's would
    be, instead of in this one. Raises OSError when ``port`` is taken,
    and KubectlError when the CRDs cannot be applied.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    cluster: DevCluster | None = None
    process: subprocess.Popen[bytes] | None = None
    kubeconfig = state_dir / "kubeconfig"
    if separate_process:
        process = _start_api_process(state_dir, kubeconfig, port, persistent, pod_start_delay)
    else:
        cluster = DevCluster(
            port,
            bookmark_interval=5.0,
            data_dir=state_dir / "cluster" if persistent else None,
            pod_start_delay=pod_start_delay,
        )
        cluster.start()
        cluster.write_kubeconfig(kubeconfig)
    try:
        kubectl = Kubectl(kubeconfig, state_dir / "kube-cache")
        install_crds(kubeconfig)
        kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/guestbookentries.ledger.guestbook.io",
            "crd/ledgers.ledger.guestbook.io",
        )
    except BaseException:
        if cluster is not None:
            cluster.stop()
        if process is not None:
            process.kill()
            process.wait(30)
        raise
    env = {
        "KUBECONFIG": str(kubeconfig),
        "GUESTBOOK_DSN": dsn,
        "PYTHONUNBUFFERED": "1",
        **(operator_env or {}),
    }
    return LocalSystem(
        state_dir=state_dir,
        dsn=dsn,
        cluster=cluster,
        kubeconfig=kubeconfig,
        kubectl=kubectl,
        operator_env=env,
        api_process=process,
    )


def _start_api_process(
    state_dir: Path, kubeconfig: Path, port: int, persistent: bool, pod_start_delay: float
) -> subprocess.Popen[bytes]:
    """``guestbook-ledger devcluster`` as a child process; returns once it answers."""
    kubeconfig.unlink(missing_ok=True)
    command = [
        sys.executable, "-m", "guestbook_ledger", "devcluster",
        "--port", str(port), "--kubeconfig", str(kubeconfig),
        "--pod-start-delay", str(pod_start_delay),
    ]  # fmt: skip
    if persistent:
        command += ["--data-dir", str(state_dir / "cluster")]
    with (state_dir / "api-server.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def answering() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the local API server exited; see {state_dir / 'api-server.log'}")
        if not kubeconfig.exists():
            return False
        server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        try:
            with urllib.request.urlopen(f"{server}/version", timeout=2):
                return True
        except OSError:
            return False

    wait_until(answering, timeout=60, what="the local API server")
    return process


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    """Poll ``predicate()`` until it returns something truthy; return that.

    Raises TimeoutError naming ``what`` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)
