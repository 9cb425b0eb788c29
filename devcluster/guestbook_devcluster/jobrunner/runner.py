"""The job runner: the Job controller and the kubelet, as one unit to start and stop.

Both are ordinary API clients of the local server (over HTTP, with their own
token), so they see exactly what kubectl would see. The runner runs on its own
event loop in a background thread, which keeps process management and status
writes off the API server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

from guestbook_ledger.kube_rest import ApiClient

from .informer import Informer
from .job_controller import JobController
from .kubelet import Kubelet, KubeletConfig
from .pod_identity import TokenSource
from .pod_logs import FileLogSource


def anonymous_tokens(namespace: str, service_account: str) -> str:
    """Token source for servers that do not authenticate: names the identity only."""
    return f"serviceaccount:{namespace}:{service_account}"


@dataclass
class JobRunnerConfig:
    """Everything the runner needs: where the API is and where pod files go.

    ``token`` is the runner's own credential (the controller-manager and kubelet
    identity); ``token_for`` gives each pod its ServiceAccount's token.
    """

    server_url: str
    state_dir: Path
    token: str | None = None
    token_for: TokenSource = anonymous_tokens
    pod_start_delay: float = 0.0


class JobRunner:
    """Runs the Job controller and the kubelet until stopped.

    Use ``await runner.run()`` inside an event loop, or :meth:`start_thread` /
    :meth:`stop_thread` to run it beside a server on its own loop.
    """

    def __init__(self, config: JobRunnerConfig) -> None:
        self.config = config
        self.kubelet: Kubelet | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()

    async def run(self) -> None:
        """Run until cancelled; cancelling stops every pod process."""
        config = self.config
        config.state_dir = config.state_dir.resolve()  # pods run elsewhere, paths must hold
        config.state_dir.mkdir(parents=True, exist_ok=True)
        client = ApiClient(config.server_url, config.token)
        # One pod watch for both: every pod event is decoded once, not twice.
        pods = Informer(client, "/api/v1/pods")
        self.kubelet = Kubelet(
            client,
            KubeletConfig(
                server_url=config.server_url,
                state_dir=config.state_dir,
                token_for=config.token_for,
                pod_start_delay=config.pod_start_delay,
            ),
            pods,
        )
        controller = JobController(client, pods)
        try:
            await asyncio.gather(pods.run(), self.kubelet.run(), controller.run())
        finally:
            await client.aclose()

    # -- background thread ---------------------------------------------------

    def start_thread(self) -> None:
        """Start the runner on a new event loop in a daemon thread."""
        self._thread = threading.Thread(target=self._thread_main, name="job-runner", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _thread_main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._main = asyncio.current_task()
            self._started.set()
            await self.run()

        # asyncio.run cancels and awaits whatever is left (process waits, timers).
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(main())

    def stop_thread(self, timeout: float = 15.0) -> None:
        """Stop the runner (killing pod processes) and wait for its thread."""
        loop, main, thread = self._loop, self._main, self._thread
        if loop is None or main is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed
            loop.call_soon_threadsafe(main.cancel)
        thread.join(timeout)
        self._thread = None

    def log_source(self) -> FileLogSource:
        """The server's ``LogSource`` for the pods this runner runs."""

        def is_running(uid: str) -> bool:
            kubelet = self.kubelet
            return kubelet is not None and kubelet.is_running(uid)

        return FileLogSource(self.config.state_dir, is_running)

    def kill_pod_process(self, namespace: str, name: str) -> bool:
        """SIGKILL the process of a pod (thread-safe); False when none runs."""
        loop, kubelet = self._loop, self.kubelet
        if loop is None or kubelet is None:
            return False

        async def kill() -> bool:
            return kubelet.kill(namespace, name)

        return asyncio.run_coroutine_threadsafe(kill(), loop).result(5)
