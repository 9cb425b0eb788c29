"""The project's real CRDs (``crds/``), the fixtures of the schema tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).resolve().parents[3] / "crds"


def load_crd(filename: str) -> dict[str, Any]:
    """The CRD in ``crds/<filename>`` as a dict."""
    crd: dict[str, Any] = yaml.safe_load((CRDS / filename).read_text(encoding="utf-8"))
    return crd
