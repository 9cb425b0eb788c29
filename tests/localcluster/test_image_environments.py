"""The project's two images, built locally exactly as their Dockerfiles build them.

The operator image's commands once died with ``ModuleNotFoundError: orjson``
(only the development extras installed it); ``--help`` never showed it,
because each command imports its modules only when it runs. So besides the
help of every command, the operator, a worker and an audit run here from the
operator image's environment against the real control plane and PostgreSQL,
and the web UI from the web image's environment becomes ready.
"""

from __future__ import annotations

import base64
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

    assert {"operator", "worker", "audit-job", "verify", "audit"} <= commands(OPERATOR)
    assert "webui" not in commands(OPERATOR)
    assert "devcluster" not in commands(OPERATOR)
    assert {"webui", "verify"} <= commands(WEB)
    assert not {"operator", "worker", "devcluster"} & commands(WEB)


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


@pytest.fixture
def operator(
    catalog: ImageCatalog,
    crds: Kubectl,
    kubeconfig: Path,
    namespace: str,
    ledger_dsn: str,
    tmp_path: Path,
) -> Iterator[Path]:
    """`guestbook-ledger operator` from the operator image's environment, serving the
    test's namespace; yields its log."""
    log = tmp_path / "operator.log"
    process = _started(
        catalog.environment_for(OPERATOR),
        tmp_path,
        log,
        "operator",
        f"--namespace={namespace}",
        KUBECONFIG=str(kubeconfig),
        GUESTBOOK_DSN=ledger_dsn,
        GUESTBOOK_RECONCILE_INTERVAL="0.5",
    )
    try:
        yield log
    finally:
        _stop(process)


def test_the_operator_image_admits_seals_and_audits_on_the_real_control_plane(
    catalog: ImageCatalog,
    operator: Path,
    kubectl: Kubectl,
    kubeconfig: Path,
    namespace: str,
    ledger_dsn: str,
    tmp_path: Path,
) -> None:
    image = catalog.environment_for(OPERATOR)
    ledger = {
        "apiVersion": "ledger.guestbook.io/v1alpha1",
        "kind": "Ledger",
        "metadata": {"name": "guestbook"},
        "spec": {"auditIntervalSeconds": 3600},
    }
    kubectl("apply", "-f", "-", input=json.dumps(ledger))
    kubectl("wait", "--for=condition=Ready", "ledger/guestbook", "--timeout=120s")
    kubectl("apply", "-f", str(REPO / "examples" / "entry.yaml"))
    kubectl("wait", "--for=jsonpath={.status.phase}=Pending", "gbe/hello-world", "--timeout=120s")
    # The operator asked for a worker pod, with the operator image and restricted settings.
    [pod] = [j["spec"]["template"]["spec"] for j in _worker_jobs(kubectl)]
    assert pod["containers"][0]["image"] == "guestbook-ledger-operator:latest"
    assert pod["securityContext"]["runAsNonRoot"] is True

    # This cluster has no kubelet yet: run the worker as its pod would, from the image.
    key = kubectl("get", "secret", "guestbook-signing-key", "-o", "jsonpath={.data.private-key}")
    worker = run_in(
        image,
        tmp_path,
        "worker",
        "--ledger",
        f"{namespace}/guestbook",
        "--idle-seconds",
        "1",
        timeout=180,
        KUBECONFIG=str(kubeconfig),
        GUESTBOOK_DSN=ledger_dsn,
        GUESTBOOK_SIGNING_KEY=base64.b64decode(key).decode(),
    )
    assert worker.returncode == 0, worker.stderr
    assert "done: 1 entries sealed" in worker.stderr
    kubectl("wait", "--for=jsonpath={.status.phase}=Sealed", "gbe/hello-world", "--timeout=60s")

    audit = run_in(
        image,
        tmp_path,
        "audit-job",
        "--ledger",
        f"{namespace}/guestbook",
        timeout=180,
        KUBECONFIG=str(kubeconfig),
        GUESTBOOK_DSN=ledger_dsn,
        GUESTBOOK_JOB_NAME="by-hand",
    )
    assert audit.returncode == 0, audit.stderr
    assert f"{namespace}/guestbook: verified, 1 entries, 0 mismatches" in audit.stdout
    kubectl("wait", "--for=condition=Verified", "ledger/guestbook", "--timeout=60s")
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


def _worker_jobs(kubectl: Kubectl) -> list[dict[str, object]]:
    """The worker Jobs, once the operator has made one (it scales the pool after admitting)."""
    for _ in range(240):
        jobs = json.loads(
            kubectl("get", "jobs", "-l", "ledger.guestbook.io/role=worker", "-o", "json")
        )["items"]
        if jobs:
            return list(jobs)
        time.sleep(0.5)
    raise AssertionError("the operator made no worker Job")


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
