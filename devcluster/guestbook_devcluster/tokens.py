"""Bearer tokens of the local API server: who a request comes from.

A token is ``dc1.<payload>.<signature>``: the payload names the user and its
groups, the signature is an HMAC-SHA256 with the cluster's key. Tokens are
therefore checked without a table, and stay valid across restarts when the
key is kept in the data directory. ServiceAccount tokens name the user
``system:serviceaccount:<namespace>:<name>`` with the groups Kubernetes gives
ServiceAccounts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

ANONYMOUS = "system:anonymous"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class Identity:
    """An authenticated user (or anonymous) with its groups."""

    user: str
    groups: tuple[str, ...] = ()

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) when this is a ServiceAccount."""
        parts = self.user.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
            return parts[2], parts[3]
        return None


ANONYMOUS_IDENTITY = Identity(ANONYMOUS, ("system:unauthenticated",))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Issues and checks tokens with one secret key.

    ``key_file`` (optional) keeps the key across restarts; it is created with
    mode 0600 when missing.
    """

    def __init__(self, key_file: Path | None = None) -> None:
        if key_file is not None and key_file.exists():
            self._key = key_file.read_bytes()
        else:
            self._key = secrets.token_bytes(32)
            if key_file is not None:
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(self._key)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, user: str, groups: tuple[str, ...] = ()) -> str:
        """A token that authenticates as ``user`` in ``groups`` (plus system:authenticated)."""
        payload = _b64(json.dumps({"u": user, "g": list(groups)}).encode())
        return f"dc1.{payload}.{self._sign(payload)}"

    def for_service_account(self, namespace: str, name: str) -> str:
        """The token of ServiceAccount ``namespace/name`` (what its pods use)."""
        groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
        return self.issue(f"system:serviceaccount:{namespace}:{name}", groups)

    def identify(self, token: str) -> Identity | None:
        """The identity ``token`` proves, or None when it is not a valid token."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "dc1":
            return None
        if not hmac.compare_digest(self._sign(parts[1]), parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            user = str(claims["u"])
            groups = tuple(str(g) for g in claims.get("g") or ())
        except (ValueError, KeyError, TypeError):
            return None
        if AUTHENTICATED not in groups:
            groups += (AUTHENTICATED,)
        return Identity(user, groups)
