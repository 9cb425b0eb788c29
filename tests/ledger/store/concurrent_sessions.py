"""Run several database sessions at the same moment, for the store's race tests.

(A plain module rather than conftest.py, like tests/operator/operator_e2e.py.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from guestbook_ledger.store import Connection

Session = Callable[[Connection], object]


def run_together(open_connection: Callable[[], Connection], *sessions: Session) -> None:
    """Run each session in its own thread on its own connection, released all at
    once by a barrier so they really overlap; return when all are done.

    Raises the first session's error, or AssertionError when a session is still
    running after 120 s (bounded: a deadlock fails the test instead of hanging it).
    """
    barrier = threading.Barrier(len(sessions))
    errors: list[BaseException] = []

    def run(session: Session) -> None:
        conn = open_connection()
        try:
            barrier.wait(timeout=60)
            session(conn)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(session,)) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a session did not finish in 120 s"
    if errors:
        raise errors[0]
