"""A container run as a local process: start, wait, terminate with a grace period.

The process gets its own session (process group) so that terminating the pod
reaches every child it started, as stopping a container would. Its stdout and
stderr go straight into the container's log file (no copying in Python, so a
chatty process costs the runner nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path


class CannotRun(Exception):
    """The command could not be started (ContainerCannotRun); the message says why."""


def resolve_command(argv: Sequence[str], path: str) -> str:
    """The executable ``argv[0]`` names, searched on ``path`` unless it has a slash.

    Raises CannotRun when ``argv`` is empty or the executable does not exist.
    """
    if not argv:
        raise CannotRun(
            "the container has no command; the local job runner runs the container's "
            "command on this host (images are not pulled), so set `command`"
        )
    name = argv[0]
    if "/" in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise CannotRun(f'executable "{name}" not found or not executable on this host')
    found = shutil.which(name, path=path)
    if found is None:
        raise CannotRun(
            f'executable "{name}" not found in $PATH on this host; the local job runner '
            "runs container commands as host processes (images are not pulled)"
        )
    return found


def exit_code_of(returncode: int) -> int:
    """A container-style exit code: 128 + signal number when killed by a signal."""
    return 128 - returncode if returncode < 0 else returncode


class LocalProcess:
    """One running container process. Create with :meth:`start` (inside the event loop).

    The exit is noticed through a pidfd registered with the event loop: no
    child-watcher thread per process, nothing left behind when the loop closes.
    """

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except OSError:  # kernels before 5.3 or a seccomp filter: wait in a thread
            self._pidfd = -1
            threading.Thread(target=self._wait_in_thread, daemon=True).start()
        else:
            self._loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        self.close()
        self._set_exit(self._popen.wait())  # readable pidfd: it has exited, this reaps it

    def _wait_in_thread(self) -> None:
        returncode = self._popen.wait()
        with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
            self._loop.call_soon_threadsafe(self._set_exit, returncode)

    def _set_exit(self, returncode: int) -> None:
        if not self._exited.done():
            self._exited.set_result(returncode)

    def close(self) -> None:
        """Stop watching the process (the event loop is closing); idempotent."""
        if self._pidfd >= 0:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
    ) -> LocalProcess:
        """Start ``argv`` with exactly ``env``, appending its output to ``log_path``.

        Raises CannotRun when the executable is missing or cannot be executed.
        """
        executable = resolve_command(argv, env.get("PATH", ""))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log_file:
            try:
                popen = subprocess.Popen(
                    [executable, *argv[1:]],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=dict(env),
                    cwd=str(cwd),
                    start_new_session=True,
                )
            except OSError as exc:
                raise CannotRun(f'cannot start "{argv[0]}": {exc.strerror or exc}') from exc
        return cls(popen)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """Wait for the process to end; its container-style exit code.

        Cancelling the wait does not affect the process.
        """
        return exit_code_of(await asyncio.shield(self._exited))

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process group; nothing if it has ended."""
        if self._exited.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    async def terminate(self, grace_seconds: float) -> int:
        """SIGTERM, then SIGKILL after ``grace_seconds``; the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.wait(), grace_seconds)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            return await self.wait()
