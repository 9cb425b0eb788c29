"""The names every component uses are the CRDs' own (crds/ is their source)."""

from __future__ import annotations

import yaml
from guestbook_kube import resources
from guestbook_kube.crds import crds_dir


def crd(file: str) -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load((crds_dir() / file).read_text()))


def test_entry_and_ledger_names_match_the_crds() -> None:
    entry, ledger = crd("guestbookentries.yaml"), crd("ledgers.yaml")
    for definition, kind, plural in (
        (entry, resources.ENTRY_KIND, resources.ENTRY_PLURAL),
        (ledger, resources.LEDGER_KIND, resources.LEDGER_PLURAL),
    ):
        spec = definition["spec"]
        assert spec["group"] == resources.GROUP
        assert [v["name"] for v in spec["versions"] if v.get("storage")] == [resources.VERSION]
        assert spec["names"]["kind"] == kind
        assert spec["names"]["plural"] == plural


def test_the_default_ledger_is_the_crds_default() -> None:
    version = crd("guestbookentries.yaml")["spec"]["versions"][0]
    ledger = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["ledger"]
    assert ledger["default"] == resources.DEFAULT_LEDGER
    assert resources.entry_ledger({"spec": {}}) == resources.DEFAULT_LEDGER
    assert resources.entry_ledger({"spec": {"ledger": "other"}}) == "other"


def test_paths_quote_names_so_they_stay_one_path_segment() -> None:
    assert resources.entries_path("ns", "a?watch=1") == (
        "/apis/ledger.guestbook.io/v1alpha1/namespaces/ns/guestbookentries/a%3Fwatch%3D1"
    )
    assert resources.ledgers_path(None) == "/apis/ledger.guestbook.io/v1alpha1/ledgers"
