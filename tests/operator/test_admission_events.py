"""Which watch events start an admission (pure)."""

from __future__ import annotations

from guestbook_operator.admission import entry_path, needs_admission


def test_new_entries_are_admitted() -> None:
    assert needs_admission("ADDED", {})
    assert needs_admission("MODIFIED", {})  # e.g. labelled before the operator saw it


def test_entries_with_a_phase_are_left_alone_unless_listed() -> None:
    assert not needs_admission("ADDED", {"phase": "Pending"})
    assert not needs_admission("MODIFIED", {"phase": "Pending"})
    assert not needs_admission("MODIFIED", {"phase": "Sealed"})
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
