"""The real Kubernetes control plane for the whole test session, a namespace per test.

`local_cluster` is started once per session (etcd without fsync, otherwise a
cluster as `make demo` runs it); each test that asks for `namespace` gets a
fresh namespace, deleted afterwards, and `kubeconfig`/`kubectl` bound to it.
(A plain module imported by the top-level conftest.py.)
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from guestbook_localcluster.cluster import LocalCluster
from guestbook_localcluster.controlplane import ControlPlane
from guestbook_localcluster.images import ImageCatalog
from guestbook_localcluster.kubeconfig import write_kubeconfig
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.kubelet import ImageEnvironmentLike, Kubelet
from sample_images import SAMPLE_IMAGES


class TestImages:
    """The project's images (built from their Dockerfiles) plus the kubelet tests' samples."""

    def __init__(self) -> None:
        self.project = ImageCatalog.project()

    def environment_for(self, image: str) -> ImageEnvironmentLike:
        if image in SAMPLE_IMAGES:
            return SAMPLE_IMAGES[image]
        return self.project.environment_for(image)


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[LocalCluster]:
    """The control plane and the process kubelet's node, for the whole session."""
    # Not under pytest's tmp_path: pod processes may run as other users.
    root = Path(tempfile.mkdtemp(prefix="guestbook-cluster-"))
    cluster = LocalCluster(root, durable=False, images=TestImages(), progress=lambda _: None)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def control_plane(local_cluster: LocalCluster) -> ControlPlane:
    """etcd, kube-apiserver, kube-controller-manager and kube-scheduler for the session."""
    return local_cluster.control_plane


@pytest.fixture(scope="session")
def process_kubelet(local_cluster: LocalCluster) -> Kubelet:
    """The kubelet of node `local-node`."""
    assert local_cluster.kubelet is not None
    return local_cluster.kubelet


@pytest.fixture(scope="session")
def admin_kubectl(control_plane: ControlPlane) -> Kubectl:
    """kubectl as the cluster admin, with no default namespace."""
    return Kubectl(control_plane.admin_kubeconfig, control_plane.data_dir / "kube-cache")


@pytest.fixture
def namespace(admin_kubectl: Kubectl) -> Iterator[str]:
    """A new namespace for one test, deleted (without waiting) afterwards."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    admin_kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        admin_kubectl.run("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kubeconfig(
    control_plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """An admin kubeconfig whose default namespace is the test's; also ``$KUBECONFIG``."""
    admin = control_plane.pki.client("admin", "kubernetes-admin", ("system:masters",))
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        control_plane.server_url,
        control_plane.pki.ca_cert,
        "kubernetes-admin",
        admin,
        namespace=namespace,
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    # The kubernetes client reads $KUBECONFIG once, at import; point it here too
    # so that Kopf's login and load_kube_config() find this cluster.
    kube_config = sys.modules.get("kubernetes.config.kube_config")
    if kube_config is not None:
        monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
    return path


@pytest.fixture
def kubectl(kubeconfig: Path, namespace: str, tmp_path: Path) -> Kubectl:
    """The real kubectl, bound to the test's namespace."""
    return Kubectl(kubeconfig, tmp_path / "kube-cache", namespace=namespace)


CRDS = Path(__file__).resolve().parents[1] / "crds"


@pytest.fixture(scope="session")
def crds(admin_kubectl: Kubectl) -> Kubectl:
    """The project's CRDs (GuestbookEntry, Ledger, Kopf's peerings), established once."""
    admin_kubectl("apply", "--server-side", "-f", str(CRDS))
    admin_kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/guestbookentries.ledger.guestbook.io",
        "crd/ledgers.ledger.guestbook.io",
    )
    return admin_kubectl
