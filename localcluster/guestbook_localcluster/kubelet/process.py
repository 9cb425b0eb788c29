"""A container run as a local process: start, wait, terminate with a grace period.

The process gets its own session (process group) so that terminating the pod
reaches every child it started, as stopping a container would. Its stdout and
stderr are pipes read on the event loop and written to the container's log
file in the CRI logging format a real kubelet's runtime writes
(``<RFC 3339 time> <stream> <F|P> <line>``), so ``kubectl logs`` can offer
``--timestamps`` and ``--since``.
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
from typing import BinaryIO

from .pod_status import now_micro_time

# A line longer than this is written as partial (P) records, as CRI runtimes do.
MAX_LINE = 16 * 1024
# After the process exits, how long its (grand)children may keep the pipes open.
DRAIN_SECONDS = 2.0


class CannotRun(Exception):
    """The command could not be started (StartError); the message says why."""


def resolve_command(argv: Sequence[str], path: str) -> str:
    """The executable ``argv[0]`` names, searched on ``path`` unless it has a slash.

    Raises CannotRun when ``argv`` is empty or the executable does not exist.
    """
    if not argv:
        raise CannotRun(
            "no command specified: the image has no ENTRYPOINT or CMD and the "
            "container sets no command"
        )
    name = argv[0]
    if "/" in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise CannotRun(f'exec: "{name}": stat {name}: no such file or directory')
    found = shutil.which(name, path=path)
    if found is None:
        raise CannotRun(f'exec: "{name}": executable file not found in $PATH')
    return found


def exit_code_of(returncode: int) -> int:
    """A container-style exit code: 128 + signal number when killed by a signal."""
    return 128 - returncode if returncode < 0 else returncode


class _LogPipe:
    """One output stream of the process, turned into CRI log records."""

    def __init__(self, fd: int, stream: str, log_file: BinaryIO, done: asyncio.Future[None]):
        self.fd = fd
        self.stream = stream.encode()
        self.log_file = log_file
        self.pending = b""
        self.done = done
        os.set_blocking(fd, False)

    def on_readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.finish()
            return
        self.pending += data
        lines = self.pending.split(b"\n")
        self.pending = lines.pop()
        stamp = now_micro_time().encode()
        records = [b"%s %s F %s\n" % (stamp, self.stream, line) for line in lines]
        while len(self.pending) >= MAX_LINE:
            records.append(b"%s %s P %s\n" % (stamp, self.stream, self.pending[:MAX_LINE]))
            self.pending = self.pending[MAX_LINE:]
        if records:
            self.log_file.write(b"".join(records))
            self.log_file.flush()

    def finish(self) -> None:
        if self.done.done():
            return
        if self.pending:
            self.log_file.write(
                b"%s %s F %s\n" % (now_micro_time().encode(), self.stream, self.pending)
            )
            self.log_file.flush()
            self.pending = b""
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
        self.done.set_result(None)


class LocalProcess:
    """One running container process. Create with :meth:`start` (inside the event loop).

    The exit is noticed through a pidfd registered with the event loop: no
    child-watcher thread per process, nothing left behind when the loop closes.
    """

    def __init__(self, popen: subprocess.Popen[bytes], pipes: list[_LogPipe], log: BinaryIO):
        self._popen = popen
        self.pid = popen.pid
        self._pipes = pipes
        self._log = log
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[int] = self._loop.create_future()
        for pipe in pipes:
            self._loop.add_reader(pipe.fd, pipe.on_readable)
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except OSError:  # kernels before 5.3 or a seccomp filter: wait in a thread
            self._pidfd = -1
            threading.Thread(target=self._wait_in_thread, daemon=True).start()
        else:
            self._loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        self._close_pidfd()
        self._set_exit(self._popen.wait())  # readable pidfd: it has exited, this reaps it

    def _wait_in_thread(self) -> None:
        returncode = self._popen.wait()
        with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
            self._loop.call_soon_threadsafe(self._set_exit, returncode)

    def _set_exit(self, returncode: int) -> None:
        if not self._exited.done():
            self._exited.set_result(returncode)

    def _close_pidfd(self) -> None:
        if self._pidfd >= 0:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    def close(self) -> None:
        """Stop watching the process and its output (the loop is closing); idempotent.

        A process still running is reaped by a daemon thread once it ends (the
        caller has killed it), so no zombie outlives a kubelet run in a thread.
        """
        self._close_pidfd()
        if not self._exited.done() and self._popen.returncode is None:
            threading.Thread(target=self._popen.wait, daemon=True).start()
            self._set_exit(-9)  # later waits must not block on a loop that may be gone
        for pipe in self._pipes:
            pipe.finish()
        self._log.close()

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
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            popen = subprocess.Popen(
                [executable, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=err_w,
                env=dict(env),
                cwd=str(cwd),
                start_new_session=True,
            )
        except OSError as exc:
            for fd in (out_r, err_r):
                os.close(fd)
            raise CannotRun(f'exec: "{argv[0]}": {exc.strerror or exc}') from exc
        finally:
            os.close(out_w)
            os.close(err_w)
        loop = asyncio.get_running_loop()
        log = open(log_path, "ab")  # noqa: SIM115 (closed by close())
        pipes = [
            _LogPipe(out_r, "stdout", log, loop.create_future()),
            _LogPipe(err_r, "stderr", log, loop.create_future()),
        ]
        return cls(popen, pipes, log)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        """Wait for the process to end and its output to be logged; its exit code.

        Cancelling the wait does not affect the process.
        """
        code = exit_code_of(await asyncio.shield(self._exited))
        drained = [p.done for p in self._pipes]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(asyncio.gather(*drained)), DRAIN_SECONDS)
        return code

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
