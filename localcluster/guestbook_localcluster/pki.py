"""The local cluster's certificates: one CA, serving certificates, client certificates.

Like kubeadm's ``/etc/kubernetes/pki``, but generated with ``cryptography``
(no openssl or cfssl binary needed). Everything lives under one folder and is
made once: a restarted cluster keeps its CA, so kubeconfigs and pods' CA
bundles stay valid. Keys are ECDSA P-256 (fast to make, accepted by every
Kubernetes component); the ServiceAccount signing key is RSA as
kube-apiserver's default ``RS256`` needs.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Digital signatures; a CA also signs certificates and revocation lists."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=ca,
        crl_sign=ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


class Pki:
    """The certificate authority of one local cluster, kept in ``folder``.

    :meth:`ca` makes the CA on first use; :meth:`client` and :meth:`serving`
    issue a certificate once and return the existing files afterwards (the
    name is the file stem, so it must be unique per purpose).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.crt"

    def ca(self) -> KeyPair:
        """The CA's files, made when missing."""
        pair = KeyPair(self.ca_cert, self.folder / "ca.key")
        if pair.cert.exists() and pair.key.exists():
            return pair
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name("guestbook-ledger-local-ca")
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(pair.key, _pem_key(key))
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return pair

    def _issue(
        self,
        stem: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        hosts: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
    ) -> KeyPair:
        pair = KeyPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key")
        if pair.cert.exists() and pair.key.exists():
            return pair
        ca = self.ca()
        ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
        ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if hosts or ips:
            names: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write_private(pair.key, _pem_key(key))
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return pair

    def client(self, stem: str, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
        """A client certificate: Kubernetes reads the user from CN, groups from O."""
        return self._issue(stem, _name(user, groups), ExtendedKeyUsageOID.CLIENT_AUTH)

    def serving(self, stem: str, hosts: tuple[str, ...], ips: tuple[str, ...]) -> KeyPair:
        """A TLS serving certificate for these DNS names and IP addresses."""
        return self._issue(
            stem, _name(hosts[0] if hosts else ips[0]), ExtendedKeyUsageOID.SERVER_AUTH, hosts, ips
        )

    def service_account_keys(self) -> KeyPair:
        """The RSA key pair that signs ServiceAccount tokens (``cert`` is the public key)."""
        pair = KeyPair(self.folder / "sa.pub", self.folder / "sa.key")
        if pair.cert.exists() and pair.key.exists():
            return pair
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(pair.key, _pem_key(key))
        pair.cert.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return pair
