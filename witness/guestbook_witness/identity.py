"""The witness's name and Ed25519 key, kept in its state folder.

``witness-key.pem`` holds the private key (PKCS #8 PEM, mode 0600, written
once by `create_identity`); the name and public key are recorded in the state
database, so a key file swapped under a witness is noticed at start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from guestbook_ledger.format.cosignature import Cosigner, cosign
from guestbook_ledger.format.errors import KeyFormatError
from guestbook_ledger.format.note import NoteSignature, check_key_name

KEY_FILE = "witness-key.pem"
MAX_KEY_FILE_BYTES = 16 * 1024


class IdentityError(ValueError):
    """The witness's key cannot be created or read; the message says what to do."""


@dataclass(frozen=True)
class WitnessIdentity:
    """A witness: its key name (e.g. ``witness.example/w1``) and its private key."""

    name: str
    private_key: Ed25519PrivateKey

    @property
    def cosigner(self) -> Cosigner:
        """The witness as its verifiers see it (name, key ID, public key)."""
        return Cosigner.for_key(self.name, self.private_key.public_key())

    def verifier_key(self) -> str:
        """The ``cosignature/v1`` verifier key ``<name>+<hex id>+<base64(0x04 ‖ key)>``."""
        return self.cosigner.to_text()

    def cosign(self, checkpoint_text: str, timestamp: int) -> NoteSignature:
        """A ``cosignature/v1`` line of ``checkpoint_text`` at ``timestamp`` (POSIX seconds)."""
        return cosign(self.private_key, self.name, checkpoint_text, timestamp)


def check_witness_name(name: str) -> None:
    """Raise IdentityError unless ``name`` is a note key name (no spaces, no '+')."""
    try:
        check_key_name(name)
    except KeyFormatError as exc:
        raise IdentityError(str(exc).replace("a note key name", "a witness name")) from None


def create_key_file(folder: Path) -> Ed25519PrivateKey:
    """Generate a key and write it to ``folder/witness-key.pem`` (mode 0600).

    Raises IdentityError when the file exists (a witness's key is never
    replaced: verifiers trust it) or cannot be written.
    """
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = folder / KEY_FILE
    try:
        # O_EXCL: never overwrite a key that verifiers may already trust.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise IdentityError(
            f"{path} exists: this folder already holds a witness; use another --state folder"
        ) from None
    except OSError as exc:
        raise IdentityError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
        stream.flush()
        os.fsync(stream.fileno())
    return key


def read_key_file(folder: Path) -> Ed25519PrivateKey:
    """The key in ``folder/witness-key.pem``. Raises IdentityError when it is missing,
    unreadable or not an unencrypted Ed25519 PEM key."""
    path = folder / KEY_FILE
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise IdentityError(
            f"{path} does not exist: create the witness first with "
            f"'guestbook-ledger witness init --state {folder} --name NAME'"
        ) from None
    except OSError as exc:
        raise IdentityError(f"cannot read {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data[:MAX_KEY_FILE_BYTES], password=None)
    except (ValueError, TypeError):
        raise IdentityError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key
