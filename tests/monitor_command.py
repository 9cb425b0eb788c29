"""`guestbook-ledger monitor` as a user runs it, for the monitor's tests (a static
tlog-tiles log in tests/cli, the web UI's tiles in tests/webui)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_monitor(url: str, vkey: str, state: Path) -> subprocess.CompletedProcess[str]:
    """``guestbook-ledger monitor URL --vkey VKEY --state STATE``, output captured;
    any exit status is returned, not raised."""
    return subprocess.run(
        [sys.executable, "-m", "guestbook_cli", "monitor", url, "--vkey", vkey,
         "--state", str(state)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
