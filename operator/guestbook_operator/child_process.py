"""Child processes of the local system that end when their parent does.

`guestbook-ledger dev` starts the API server, the operator and the web UI as
processes in sessions of their own (so that Ctrl-C reaches the parent, which
stops them in order). If the parent is killed outright (SIGKILL, an aborted
test run), no cleanup runs; without this, its children would live on.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` for ``subprocess.Popen``: ask Linux to send SIGTERM to the child
    when the thread that started it exits. Elsewhere it does nothing.

    Precondition: the Popen call is made from a thread that lives as long as the
    child should (the local system starts its children from the main thread).
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
