"""Helpers of the image tests: a pod-like environment for a command, a throwaway project.

(A plain module rather than conftest.py, as the other shared test modules.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from guestbook_localcluster.images import INSTALL_SCRIPT, ImageEnvironment

REPO = Path(__file__).resolve().parents[2]


def pod_env(environment: ImageEnvironment, home: Path, **extra: str) -> dict[str, str]:
    """What a pod of the image starts with: the image's ENV (PATH with its bin first), a
    home, and ``extra``; nothing of the developer's virtualenv."""
    return {"HOME": str(home), "LANG": "C.UTF-8", **environment.env, **extra}


def run_in(
    environment: ImageEnvironment, home: Path, *args: str, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run the image's ENTRYPOINT with ``args``, as a pod of it would."""
    env = pod_env(environment, home, **extra)
    program = shutil.which(environment.entrypoint[0], path=env["PATH"])
    assert program is not None, f"{environment.entrypoint[0]} is not on {env['PATH']}"
    return subprocess.run(
        [program, *environment.entrypoint[1:], *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "throwaway"
version = "0.1.0"
requires-python = ">=3.11"

[project.optional-dependencies]
# The command imports rfc8785: `forgot` leaves it out, `complete` declares it.
forgot = []
complete = ["rfc8785>=0.1.4"]

[project.scripts]
throwaway = "throwaway:main"
"""

MODULE = """\
def main() -> None:
    import rfc8785

    print(rfc8785.dumps({"b": 1, "a": 2}).decode())
"""


def dockerfile(extra: str, *, cmd: str = '["--version"]') -> str:
    """A Dockerfile shaped like the project's, installing the throwaway with ``extra``."""
    return f"""\
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY {INSTALL_SCRIPT} {INSTALL_SCRIPT}
COPY throwaway throwaway
RUN python3 {INSTALL_SCRIPT} {extra} /opt/app

FROM python:3.11-slim
COPY --from=build /opt/app /opt/app
ENV PATH=/opt/app/bin:/usr/local/bin:/usr/bin:/bin GREETING="hello there"
USER 4242
ENTRYPOINT ["throwaway"]
CMD {cmd}
"""


def throwaway_project(folder: Path) -> Path:
    """A tiny project at ``folder`` with the project's install script and one Dockerfile
    per extra (``Dockerfile.forgot``, ``Dockerfile.complete``); returns ``folder``."""
    (folder / "throwaway").mkdir(parents=True)
    (folder / "throwaway" / "__init__.py").write_text(MODULE)
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "scripts").mkdir()
    shutil.copy2(REPO / INSTALL_SCRIPT, folder / INSTALL_SCRIPT)
    (folder / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    for extra in ("forgot", "complete"):
        (folder / f"Dockerfile.{extra}").write_text(dockerfile(extra))
    return folder
