"""Container image references, parsed as Docker and containerd parse them.

    [REGISTRY[:PORT]/]PATH[:TAG][@ALGORITHM:DIGEST]

PATH is one or more ``/``-separated lowercase components. The first
component is a registry when it holds a ``.`` or a ``:``, or is
``localhost`` (the rule of github.com/distribution/reference); otherwise the
reference names Docker Hub and has no registry here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*\Z")
_DOMAIN = re.compile(
    r"(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]+)?\Z"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}\Z")
_NAME_MAX = 255


class InvalidReference(ValueError):
    """Not an image reference; the message says which part is wrong."""


@dataclass(frozen=True)
class ImageReference:
    """A parsed reference: ``registry`` (None for Docker Hub), ``path``, ``tag``, ``digest``."""

    registry: str | None
    path: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """The full repository name: registry and path (``registry.example/team/app``)."""
        return f"{self.registry}/{self.path}" if self.registry else self.path

    @property
    def name(self) -> str:
        """The last component of the path (``app``)."""
        return self.path.rsplit("/", 1)[-1]


def parse_image_reference(text: str) -> ImageReference:
    """Parse ``text``; raises InvalidReference with what is wrong."""
    if not text:
        raise InvalidReference("the image reference is empty")
    rest, at, digest = text.partition("@")
    if at:
        if not _DIGEST.match(digest):
            raise InvalidReference(f"{digest!r} is not a digest (ALGORITHM:HEX)")
        if digest.startswith("sha256:") and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise InvalidReference(f"{digest!r} is not a sha256 digest (64 lowercase hex digits)")
    registry: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.match(first):
            raise InvalidReference(f"{first!r} is not a registry host[:port]")
        registry, rest = first, remainder
    path, colon, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if colon and not _TAG.match(tag):
        raise InvalidReference(f"{tag!r} is not a tag (letters, digits, _ . -; at most 128)")
    if not _PATH.match(path):
        hint = " (repository names are lowercase)" if path != path.lower() else ""
        raise InvalidReference(f"{path!r} is not a repository name{hint}")
    if len(path) + (len(registry) + 1 if registry else 0) > _NAME_MAX:
        raise InvalidReference(f"the repository name is longer than {_NAME_MAX} characters")
    return ImageReference(registry, path, tag if colon else None, digest if at else None)
