"""The chart installs exactly the CRDs of `crds/` (their single source), packaged too."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import helm_python as helm
from chart_manifests import CHART, CRDS


def _source_crds() -> dict[str, bytes]:
    return {f"crds/{p.name}": p.read_bytes() for p in sorted(CRDS.glob("*.yaml"))}


def test_the_chart_crds_folder_links_to_the_repository_crds() -> None:
    link = CHART / "crds"
    assert link.is_symlink()
    assert os.readlink(link) == "../../crds"
    assert link.resolve() == CRDS.resolve()


def test_helm_loads_byte_identical_crds() -> None:
    with helm.Chart.load(CHART) as chart:
        loaded = {c["name"]: c["data"].encode("utf-8") for c in chart.crds}
    assert loaded == _source_crds()
    assert len(loaded) == 3  # entries, ledgers, Kopf peering


def test_the_packaged_chart_carries_the_crd_files_themselves(tmp_path: Path) -> None:
    archive = helm.package(CHART, destination=tmp_path)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers() if "/crds/" in m.name}
        assert all(m.isfile() for m in members.values())  # not links into a checkout
        packaged = {}
        for name, member in members.items():
            extracted = tar.extractfile(member)
            assert extracted is not None
            packaged[name.removeprefix("guestbook-ledger/")] = extracted.read()
    assert packaged == _source_crds()
    assert helm.digest(archive).startswith("sha256:")
