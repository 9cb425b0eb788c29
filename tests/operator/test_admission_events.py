"""Which watch events start an admission (pure)."""

from __future__ import annotations

from guestbook_operator.entries.admission import entry_path, needs_admission


def test_new_entries_are_admitted() -> None:
    # Pending is the CRD's default: a new entry arrives with it (decision 0097).
    assert needs_admission("ADDED", {"phase": "Pending"})
    assert needs_admission("ADDED", {})
    assert needs_admission("MODIFIED", {})  # its status was removed


def test_modified_or_final_entries_are_left_alone() -> None:
    assert not needs_admission("MODIFIED", {"phase": "Pending"})
    assert not needs_admission("MODIFIED", {"phase": "Sealed"})
    assert not needs_admission("ADDED", {"phase": "Sealed"})
    assert not needs_admission("DELETED", {})


def test_a_listing_takes_up_every_entry_not_final() -> None:
    # The operator may have died between writing Pending and recording the entry.
    assert needs_admission("LISTED", {})
    assert needs_admission("LISTED", {"phase": "Pending"})
    assert not needs_admission("LISTED", {"phase": "Sealed"})
    assert not needs_admission("LISTED", {"phase": "Failed"})


def test_entry_path() -> None:
    base = "/apis/ledger.guestbook.io/v1alpha1/namespaces/team/guestbookentries"
    assert entry_path("team", "hello") == base + "/hello"
