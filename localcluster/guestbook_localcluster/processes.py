"""Child processes that log to a file and die with their parent.

Each control-plane component runs as one of these: its own session (Ctrl-C
in the terminal reaches only the launcher, which stops them in order), its
output appended to a log file, and ``PR_SET_PDEATHSIG`` so that a launcher
killed outright (SIGKILL, an aborted test run) takes them with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn``: ask Linux to send SIGTERM to the child when the thread that
    started it exits. Elsewhere it does nothing.

    Precondition: the Popen call is made from a thread that lives as long as the
    child should.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ChildProcess:
    """One long-running program; :meth:`start` again after :meth:`stop` or :meth:`kill`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self) -> None:
        """Start the program (no-op while it runs), appending its output to the log."""
        if self.running:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as output:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def exit_code(self) -> int | None:
        """The exit status if the program has ended, else None."""
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the program's log, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; waits for the exit."""
        popen = self.popen
        if popen is None:
            return
        if popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.popen = None

    def kill(self) -> None:
        """SIGKILL the program and everything in its session (fault injection)."""
        popen = self.popen
        if popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        self.popen = None
