"""Images as local environments: built by the image's own install step, cached by content.

These tests build a throwaway project shaped like this one (its own
Dockerfiles calling the project's scripts/install-image) into a private
cache; test_image_environments.py builds the project's real images.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from guestbook_localcluster import images
from guestbook_localcluster.image_reference import (
    ImageReference,
    InvalidReference,
    parse_image_reference,
)
from guestbook_localcluster.images import ImageCatalog, ImageNotAvailable
from image_builds import dockerfile, run_in, throwaway_project

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return throwaway_project(tmp_path_factory.mktemp("throwaway"))


@pytest.fixture(scope="module")
def built(project: Path, tmp_path_factory: pytest.TempPathFactory) -> ImageCatalog:
    """A catalog of the throwaway's two images, both built once for this module."""
    catalog = ImageCatalog(
        {
            "throwaway-forgot": project / "Dockerfile.forgot",
            "throwaway-complete": project / "Dockerfile.complete",
        },
        tmp_path_factory.mktemp("image-cache"),
    )
    lines: list[str] = []
    catalog.prepare(lines.append)
    assert lines[0].startswith("Building the local environment of 2 image(s)")
    assert [line.split(":")[0] for line in lines[1:]] == [
        "image throwaway-complete",
        "image throwaway-forgot",
    ]
    return catalog


def test_a_dependency_the_image_leaves_out_breaks_its_command(
    built: ImageCatalog, tmp_path: Path
) -> None:
    complete = run_in(built.environment_for("throwaway-complete"), tmp_path)
    assert complete.returncode == 0, complete.stderr
    assert complete.stdout.strip() == '{"a":2,"b":1}'

    forgot = run_in(built.environment_for("throwaway-forgot:1.0"), tmp_path)
    assert forgot.returncode != 0
    assert "ModuleNotFoundError: No module named 'rfc8785'" in forgot.stderr


def test_the_environment_carries_the_final_stage_settings(built: ImageCatalog) -> None:
    env = built.environment_for("registry.example:5000/team/throwaway-complete:2@" + DIGEST)
    assert env.image == "registry.example:5000/team/throwaway-complete:2@" + DIGEST
    assert env.repository == "throwaway-complete"
    assert env.bin_dir == env.root / "bin"
    assert (env.bin_dir / "throwaway").is_file()
    assert env.root.parent == built.cache  # outside the project
    assert env.entrypoint == ["throwaway"]
    assert env.cmd == ["--version"]
    assert env.user == "4242"
    # The image's install prefix /opt/app is this environment's root.
    assert env.env == {
        "PATH": f"{env.root}/bin:/usr/local/bin:/usr/bin:/bin",
        "GREETING": "hello there",
    }


def test_the_install_is_not_editable_and_sees_nothing_of_the_host(
    built: ImageCatalog, project: Path, tmp_path: Path
) -> None:
    env = built.environment_for("throwaway-complete")
    python = env.bin_dir / "python"
    site = sorted((env.root / "lib").glob("python3.*/site-packages"))[0]
    assert (site / "throwaway" / "__init__.py").is_file()  # a copy, not a link to the project
    assert not [p for p in site.glob("*.pth") if str(project) in p.read_text()]
    assert python.is_file()
    # pyvenv.cfg: no system site-packages (the developer's packages stay out).
    assert "include-system-site-packages = false" in (env.root / "pyvenv.cfg").read_text()


def test_a_failed_build_says_what_failed_and_is_not_retried_unchanged(
    project: Path, tmp_path: Path
) -> None:
    (project / "Dockerfile.typo").write_text(dockerfile("complet"))
    catalog = ImageCatalog({"throwaway": project / "Dockerfile.typo"}, tmp_path / "cache")
    with pytest.raises(ImageNotAvailable) as failed:
        catalog.environment_for("throwaway:latest")
    message = str(failed.value)
    assert failed.value.reason == "ErrImagePull"
    assert "Building image 'throwaway' from Dockerfile.typo failed" in message
    assert "pyproject.toml has no extra 'complet'; choose one of complete, forgot" in message
    log = Path(message.split("; see ")[1].split(",")[0])
    assert "install-image" in log.read_text()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]  # nothing half-built
    # The same content fails the same way without building again.
    log.unlink()
    with pytest.raises(ImageNotAvailable, match=r"Dockerfile\.typo failed"):
        catalog.environment_for("throwaway")
    assert not log.exists()


def test_one_build_serves_every_thread_and_process_and_a_code_change_builds_anew(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = tmp_path / "project"
    shutil.copytree(project, context)
    cache = tmp_path / "cache"
    lines: list[str] = []
    # Two catalogs share only the cache folder, as two processes would (the file lock).
    catalogs = [
        ImageCatalog({"throwaway": context / "Dockerfile.complete"}, cache, progress=lines.append)
        for _ in range(2)
    ]
    roots: list[Path] = []
    threads = [
        threading.Thread(target=lambda c=c: roots.append(c.environment_for("throwaway").root))
        for c in (*catalogs, catalogs[0])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(roots) == 3 and len(set(roots)) == 1
    built = [line for line in lines if " built from " in line]
    assert len(built) == 1, lines
    assert re.fullmatch(
        r"image throwaway: built from Dockerfile.complete in \d+\.\d s \(.+\)", built[0]
    )

    # Byte-code (left out by .dockerignore) and files no COPY names change nothing.
    (context / "throwaway" / "__pycache__").mkdir()
    (context / "throwaway" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (context / "NOTES.txt").write_text("not in the image")
    lines.clear()
    assert catalogs[1].environment_for("throwaway").root == roots[0]
    assert lines == []

    # A change to copied code is a new image: a new environment, with the new code.
    module = context / "throwaway" / "__init__.py"
    module.write_text(module.read_text().replace('"a": 2', '"a": 3'))
    monkeypatch.setattr(images, "PRUNE_UNUSED_SECONDS", 0)
    changed = catalogs[1].environment_for("throwaway")
    assert changed.root != roots[0]
    assert len([line for line in lines if " built from " in line]) == 1
    assert run_in(changed, tmp_path).stdout.strip() == '{"a":3,"b":1}'
    # Environments unused for a while (here: at all) go when a new one is built.
    assert not roots[0].exists()
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [changed.root.name]


def test_an_unknown_image_fails_like_a_pull_saying_what_to_use(project: Path) -> None:
    catalog = ImageCatalog({"throwaway": project / "Dockerfile.complete"}, project / "unused")
    with pytest.raises(ImageNotAvailable) as unknown:
        catalog.environment_for("docker.io/library/nginx:1.27")
    assert unknown.value.reason == "ErrImagePull"
    assert str(unknown.value) == (
        "Image 'docker.io/library/nginx:1.27' has no local environment: the process kubelet "
        "runs only images built from this repository's Dockerfiles, throwaway (from "
        "Dockerfile.complete); use one of those repositories (any registry and tag)."
    )
    with pytest.raises(ImageNotAvailable) as invalid:
        catalog.environment_for("Throwaway:latest")
    assert invalid.value.reason == "InvalidImageName"
    assert "repository names are lowercase" in str(invalid.value)
    assert not (project / "unused").exists()  # nothing was built


def test_the_project_catalog_outside_a_checkout_says_to_run_from_a_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "lib" / "python3.11" / "site-packages" / "guestbook_localcluster"
    monkeypatch.setattr(images, "__file__", str(installed / "images.py"))
    catalog = ImageCatalog.project(tmp_path / "cache")
    with pytest.raises(ImageNotAvailable, match="runs from an installed copy") as raised:
        catalog.environment_for("guestbook-ledger-operator:0.1.0")
    assert "run it from a clone of the repository" in str(raised.value)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "CMD throwaway --version",
            "CMD in shell form is not supported locally; write it as a JSON array",
        ),
        ("ENV WHERE=$HOME/data", "$HOME is not set earlier in this stage"),
        ("ADD https://example.com/x /x", "ADD is not supported by local mode; use COPY"),
        ("RUN apt-get update", "local mode runs only scripts/install-image"),
        ("COPY throwaway /opt/extra", "the final stage copies from the build context"),
    ],
)
def test_a_dockerfile_local_mode_cannot_honour_is_refused_with_the_line(
    project: Path, lines: str, message: str
) -> None:
    (project / "Dockerfile.odd").write_text(dockerfile("complete") + lines + "\n")
    catalog = ImageCatalog({"throwaway": project / "Dockerfile.odd"}, project / "unused")
    with pytest.raises(ImageNotAvailable) as raised:
        catalog.environment_for("throwaway")
    assert "Image 'throwaway' cannot be built locally: Dockerfile.odd line 14: " in str(
        raised.value
    )
    assert str(raised.value).endswith(f"({project / 'Dockerfile.odd'}).")
    assert message in str(raised.value)


def test_an_image_whose_install_step_is_not_the_script_is_refused(project: Path) -> None:
    text = dockerfile("complete").replace(
        "RUN python3 scripts/install-image complete /opt/app",
        "RUN pip install --prefix /opt/app '.[complete]'",
    )
    (project / "Dockerfile.pip").write_text(text)
    catalog = ImageCatalog({"throwaway": project / "Dockerfile.pip"}, project / "unused")
    with pytest.raises(ImageNotAvailable, match="has 0 RUN lines running scripts/install-image"):
        catalog.environment_for("throwaway")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "guestbook-ledger-operator",
            ImageReference(None, "guestbook-ledger-operator", None, None),
        ),
        ("guestbook-ledger-web:0.1.0", ImageReference(None, "guestbook-ledger-web", "0.1.0", None)),
        (
            "registry.example/gb/operator:1.2",
            ImageReference("registry.example", "gb/operator", "1.2", None),
        ),
        ("localhost:5000/app@" + DIGEST, ImageReference("localhost:5000", "app", None, DIGEST)),
        ("ghcr.io/a/b:v1@" + DIGEST, ImageReference("ghcr.io", "a/b", "v1", DIGEST)),
        ("[::1]:5000/app:dev", ImageReference("[::1]:5000", "app", "dev", None)),
        ("library/python:3.11-slim", ImageReference(None, "library/python", "3.11-slim", None)),
        ("my_app__x-y.z:TAG_1", ImageReference(None, "my_app__x-y.z", "TAG_1", None)),
    ],
)
def test_references_parse_into_registry_path_tag_and_digest(
    text: str, expected: ImageReference
) -> None:
    assert parse_image_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("App:1", "'App' is not a repository name (repository names are lowercase)"),
        ("app:", "'' is not a tag"),
        ("app:-x", "'-x' is not a tag"),
        ("app@sha256:abc", "is not a digest"),
        ("app@sha256:" + "A" * 64, "is not a sha256 digest"),
        ("a//b", "is not a repository name"),
        ("-app", "is not a repository name"),
        ("registry..example/app", "is not a registry host[:port]"),
        ("x" * 256, "longer than 255"),
    ],
)
def test_malformed_references_say_which_part_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidReference, match=None) as raised:
        parse_image_reference(text)
    assert message in str(raised.value)


def test_lookup_tries_the_full_name_then_the_path_then_the_last_component(project: Path) -> None:
    dockerfile_path = project / "Dockerfile.complete"
    catalog = ImageCatalog(
        {
            "mirror.example/app": dockerfile_path,
            "team/app": dockerfile_path,
            "app": dockerfile_path,
        },
        project / "unused",
    )
    assert catalog.repository_for("mirror.example/app:1") == "mirror.example/app"
    assert catalog.repository_for("other.example/team/app:1") == "team/app"
    assert catalog.repository_for("other.example/else/app@" + DIGEST) == "app"
    with pytest.raises(ValueError, match="without tag or digest"):
        ImageCatalog({"app:1": dockerfile_path})
