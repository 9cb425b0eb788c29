"""Every published RFC 6962 / RFC 9162 vector: accept each valid proof, reject
each tampered or malformed one."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from guestbook_ledger.format import (
    ProofError,
    ProofFormatError,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS_DIR = Path(__file__).resolve().parents[1] / "testdata" / "rfc6962"


@dataclass(frozen=True)
class Vector:
    path: Path
    fields: dict[str, object]

    @property
    def want_error(self) -> bool:
        return bool(self.fields["wantErr"])

    def hash(self, name: str) -> bytes:
        value = self.fields[name]
        assert isinstance(value, str)
        return base64.b64decode(value, validate=True)

    def proof(self) -> list[bytes]:
        elements = self.fields["proof"] or []
        assert isinstance(elements, list)
        return [base64.b64decode(element, validate=True) for element in elements]

    def number(self, name: str) -> int:
        value = self.fields[name]
        assert isinstance(value, int)
        return value


def load_vectors(kind: str) -> list[Vector]:
    """Every vector of ``kind`` ("inclusion" or "consistency"); fails loudly when
    the directory is missing or empty, so a lost checkout never passes silently."""
    directory = VECTORS_DIR / kind
    if not directory.is_dir():
        raise FileNotFoundError(f"the RFC 6962 vectors are missing: expected {directory}")
    paths = sorted(directory.rglob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no vectors found under {directory}")
    return [Vector(path, json.loads(path.read_text())) for path in paths]


def vector_id(vector: Vector) -> str:
    return str(vector.path.relative_to(VECTORS_DIR))


INCLUSION = load_vectors("inclusion")
CONSISTENCY = load_vectors("consistency")


def _verify_inclusion(vector: Vector) -> None:
    verify_inclusion(
        leaf_hash=vector.hash("leafHash"),
        index=vector.number("leafIdx"),
        size=vector.number("treeSize"),
        proof=vector.proof(),
        root=vector.hash("root"),
    )


def _verify_consistency(vector: Vector) -> None:
    verify_consistency(
        size1=vector.number("size1"),
        size2=vector.number("size2"),
        proof=vector.proof(),
        root1=vector.hash("root1"),
        root2=vector.hash("root2"),
    )


def test_the_vector_set_has_both_valid_and_tampered_cases() -> None:
    for vectors in (INCLUSION, CONSISTENCY):
        assert any(v.want_error for v in vectors)
        assert any(not v.want_error for v in vectors)
    assert len(INCLUSION) + len(CONSISTENCY) >= 190


@pytest.mark.parametrize("vector", INCLUSION, ids=vector_id)
def test_inclusion_vector(vector: Vector) -> None:
    if vector.want_error:
        with pytest.raises((ProofError, ProofFormatError)):
            _verify_inclusion(vector)
    else:
        _verify_inclusion(vector)


@pytest.mark.parametrize("vector", CONSISTENCY, ids=vector_id)
def test_consistency_vector(vector: Vector) -> None:
    if vector.want_error:
        with pytest.raises((ProofError, ProofFormatError)):
            _verify_consistency(vector)
    else:
        _verify_consistency(vector)


def test_root_of_the_classic_certificate_transparency_leaves() -> None:
    leaves = [
        bytes.fromhex(h)
        for h in (
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        )
    ]
    assert (
        root_hash([leaf_hash(leaf) for leaf in leaves]).hex()
        == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
