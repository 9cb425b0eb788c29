"""The operator's readiness check against a real PostgreSQL: None while it answers,
a reason when nothing listens at the database's address (decision 0133)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket

from guestbook_operator.database import Database
from guestbook_operator.readiness import readiness_check


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ready_while_the_database_answers_not_ready_with_a_reason_when_it_does_not(
    ledger_dsn: str,
) -> None:
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        up = Database(ledger_dsn)
        down = Database(f"postgresql://nobody@127.0.0.1:{_closed_port()}/ledger")
        try:
            assert asyncio.run(readiness_check(up, executor)) is None
            reason = asyncio.run(readiness_check(down, executor))
        finally:
            up.close()
    assert reason is not None and "Cannot connect to the ledger database" in reason
