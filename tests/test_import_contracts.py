"""The layers the README draws hold: `lint-imports` (import-linter, .importlinter)
passes on the tree, and fails, naming the contract and the import, when one
module gets an import its layer forbids (decision 0141).

The violations are made in a copy of the component folders, put first on
``PYTHONPATH`` so import-linter analyses the copy instead of the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FOLDERS = ("cli", "bench", "operator", "webui", "witness", "localcluster", "kube", "ledger")
LAYERS = "Layers: CLI and benchmarks, then components, then Kubernetes access and core"
CORE = "The ledger core uses no Kubernetes, web or local-mode library"
PRODUCTION = "What the images run uses no local-mode or benchmark library"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the component folders under ``root`` with root's .importlinter."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(str(root / folder) for folder in FOLDERS)
    env["COLUMNS"] = "200"  # contract names on one line
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / ".importlinter"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout's component folders and import contracts."""
    root = tmp_path_factory.mktemp("tree")
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / ".importlinter", root / ".importlinter")
    return root


def test_the_checkout_keeps_every_contract() -> None:
    ran = lint_imports(REPO)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Contracts: 3 kept, 0 broken." in ran.stdout


def test_the_copy_keeps_every_contract_too(pristine: Path) -> None:
    ran = lint_imports(pristine)
    assert ran.returncode == 0, ran.stdout + ran.stderr


@pytest.mark.parametrize(
    ("module", "imported", "contract", "verdict"),
    [
        # Components do not import each other, nor local mode, the CLI or the benchmarks.
        ("operator/guestbook_operator/policy.py", "guestbook_webui.app", LAYERS,
         "guestbook_operator is not allowed to import guestbook_webui"),
        ("webui/guestbook_webui/problems.py", "guestbook_localcluster.images", LAYERS,
         "guestbook_webui is not allowed to import guestbook_localcluster"),
        ("witness/guestbook_witness/state.py", "guestbook_cli.dispatch", LAYERS,
         "guestbook_witness is not allowed to import guestbook_cli"),
        ("operator/guestbook_operator/status.py", "guestbook_bench.e2e", LAYERS,
         "guestbook_operator is not allowed to import guestbook_bench"),
        # Local mode does not import the components it runs.
        ("localcluster/guestbook_localcluster/waiting.py", "guestbook_operator.manifests", LAYERS,
         "guestbook_localcluster is not allowed to import guestbook_operator"),
        # The ledger core and Kubernetes access import no component, nor each other.
        ("ledger/guestbook_ledger/format/names.py", "guestbook_kube.resources", LAYERS,
         "guestbook_ledger is not allowed to import guestbook_kube"),
        ("kube/guestbook_kube/resources.py", "guestbook_operator.policy", LAYERS,
         "guestbook_kube is not allowed to import guestbook_operator"),
        # The core has no Kubernetes client; production code no benchmark library.
        ("ledger/guestbook_ledger/store/locks.py", "kubernetes", CORE,
         "guestbook_ledger is not allowed to import kubernetes"),
        ("witness/guestbook_witness/logs.py", "merkle", PRODUCTION,
         "guestbook_witness is not allowed to import merkle"),
    ],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(
    pristine: Path, tmp_path: Path, module: str, imported: str, contract: str, verdict: str
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(pristine, root)
    with (root / module).open("a") as source:
        source.write(f"\nimport {imported}  # the violation under test\n")

    ran = lint_imports(root)

    assert ran.returncode != 0
    assert f"{contract} BROKEN" in ran.stdout
    # (Indirect imports count too: the core importing guestbook_kube also breaks CORE.)
    assert f"{verdict}:" in ran.stdout
    dotted = module.split("/", 1)[1].removesuffix(".py").replace("/", ".")
    assert f"{dotted} -> {imported}" in ran.stdout
