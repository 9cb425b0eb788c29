"""Which watch events start an admission (pure)."""

from __future__ import annotations

import datetime
import time

from guestbook_operator.entries.admission import ConditionClock, needs_admission


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


def test_the_condition_clock_says_the_current_second() -> None:
    clock = ConditionClock()
    before = int(time.time())
    shown = clock.now()
    after = int(time.time())
    moment = datetime.datetime.fromisoformat(shown.replace("Z", "+00:00")).timestamp()
    assert shown.endswith("Z")
    assert before <= moment <= after
    assert clock.now() >= shown  # the same second again, or a later one
