"""Schemas of the project's real CRDs (``crds/``), the fixtures of these tests."""

from __future__ import annotations

from typing import Any

import pytest
from crd_fixtures import load_crd


@pytest.fixture
def entry_crd() -> dict[str, Any]:
    return load_crd("guestbookentries.yaml")


@pytest.fixture
def ledger_crd() -> dict[str, Any]:
    return load_crd("ledgers.yaml")


@pytest.fixture
def entry_schema(entry_crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = entry_crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.fixture
def ledger_schema(ledger_crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = ledger_crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema
