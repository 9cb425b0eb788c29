"""Reading the API server's location and credentials without the `kubernetes`
package: in a pod of a real cluster (service-account files), from a kubeconfig
with a token, and handing everything else to the `kubernetes` loader."""

from __future__ import annotations

import base64
import datetime
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from guestbook_kube import credentials
from guestbook_kube.credentials import (
    ClusterSettings,
    kubeconfig_settings,
    load_cluster_settings,
)


def certificate(common_name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key, PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def trusted_names(context: ssl.SSLContext) -> list[str]:
    """The common names of the certificate authorities ``context`` trusts."""
    subjects: list[Any] = [cert["subject"] for cert in context.get_ca_certs()]
    return [
        value
        for subject in subjects
        for rdn in subject
        for key, value in rdn
        if key == "commonName"
    ]


def service_account(folder: Path, token: str = "pod-token") -> Path:
    """A pod's service-account folder: token and the cluster's CA."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "token").write_text(token + "\n")
    (folder / "ca.crt").write_bytes(certificate("cluster-ca")[0])
    return folder


def kubeconfig(
    path: Path, *, cluster: dict[str, Any], user: dict[str, Any], current: str = "pod"
) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "elsewhere", "cluster": {"server": "https://elsewhere:6443"}},
            {"name": "c", "cluster": cluster},
        ],
        "users": [{"name": "other", "user": {"token": "not-this"}}, {"name": "u", "user": user}],
        "contexts": [
            {"name": "other", "context": {"cluster": "elsewhere", "user": "other"}},
            {"name": "pod", "context": {"cluster": "c", "user": "u", "namespace": "default"}},
        ],
        "current-context": current,
    }
    path.write_text(yaml.safe_dump(config))
    return path


# --- in a pod of a real cluster ------------------------------------------------------


def test_in_a_pod_the_service_account_and_service_address_are_used(tmp_path: Path) -> None:
    secrets = service_account(tmp_path / "sa")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}

    settings = load_cluster_settings(env, secrets)

    assert settings is not None
    assert settings.server == "https://10.0.0.1:443"
    assert settings.authorization()() == "Bearer pod-token"
    context = settings.tls_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert trusted_names(context) == ["cluster-ca"]


def test_in_a_pod_an_ipv6_service_address_is_bracketed(tmp_path: Path) -> None:
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    settings = load_cluster_settings(env, service_account(tmp_path / "sa"))
    assert settings is not None
    assert settings.server == "https://[fd00::1]:443"


def test_a_rotated_token_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = service_account(tmp_path / "sa", token="first")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    settings = load_cluster_settings(env, secrets)
    assert settings is not None
    authorization = settings.authorization()
    assert authorization() == "Bearer first"

    (secrets / "token").write_text("second")
    assert authorization() == "Bearer first"  # read again once a minute, not per request
    monkeypatch.setattr(credentials, "TOKEN_REREAD_SECONDS", 0.0)
    assert authorization() == "Bearer second"
    (secrets / "token").unlink()  # mid-rotation: the last token is kept
    assert authorization() == "Bearer second"


def test_service_variables_without_a_service_account_mean_the_kubeconfig(tmp_path: Path) -> None:
    # What the process kubelet gives a pod: the service variables, and a
    # kubeconfig with the CA and the token as files (no /var/run/secrets).
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "ca.crt").write_bytes(certificate("cluster-ca")[0])
    path = kubeconfig(
        tmp_path / "kubeconfig",
        cluster={"server": "https://127.0.0.1:6443", "certificate-authority": "ca.crt"},
        user={"tokenFile": str(tmp_path / "token")},
    )
    env = {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "6443",
        "KUBECONFIG": str(path),
    }

    settings = load_cluster_settings(env, tmp_path / "no-such-folder")

    assert settings == ClusterSettings(
        server="https://127.0.0.1:6443",
        token_file=str(tmp_path / "token"),
        ca_file=str(tmp_path / "ca.crt"),
    )
    context = settings.tls_context()
    assert context is not None
    assert trusted_names(context) == ["cluster-ca"]
    assert settings.authorization()() == "Bearer t"


# --- kubeconfig --------------------------------------------------------------------


def test_the_current_context_is_used(tmp_path: Path) -> None:
    path = kubeconfig(
        tmp_path / "config", cluster={"server": "https://api:6443/"}, user={"token": "mine"}
    )
    settings = kubeconfig_settings(path)
    assert settings is not None
    assert settings.server == "https://api:6443"
    assert settings.authorization()() == "Bearer mine"

    other = kubeconfig_settings(
        kubeconfig(
            tmp_path / "other", cluster={"server": "x"}, user={"token": "t"}, current="other"
        )
    )
    assert other is not None
    assert (other.server, other.token) == ("https://elsewhere:6443", "not-this")


def test_a_token_file_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("from-file\n")
    path = kubeconfig(
        tmp_path / "config",
        cluster={"server": "http://127.0.0.1:8001"},
        user={"tokenFile": "secrets/token"},
    )
    settings = kubeconfig_settings(path)
    assert settings is not None
    assert settings.token_file == str(tmp_path / "secrets" / "token")
    assert settings.authorization()() == "Bearer from-file"


def test_certificate_authority_data_and_files_are_trusted(tmp_path: Path) -> None:
    ca_pem = certificate("inline-ca")[0]
    inline = kubeconfig_settings(
        kubeconfig(
            tmp_path / "inline",
            cluster={
                "server": "https://api:6443",
                "certificate-authority-data": base64.b64encode(ca_pem).decode(),
            },
            user={"token": "t"},
        )
    )
    assert inline is not None
    context = inline.tls_context()
    assert context is not None
    assert trusted_names(context) == ["inline-ca"]

    (tmp_path / "ca.crt").write_bytes(certificate("file-ca")[0])
    from_file = kubeconfig_settings(
        kubeconfig(
            tmp_path / "file",
            cluster={"server": "https://api:6443", "certificate-authority": "ca.crt"},
            user={"token": "t"},
        )
    )
    assert from_file is not None
    context = from_file.tls_context()
    assert context is not None
    assert trusted_names(context) == ["file-ca"]


def test_insecure_skip_tls_verify_turns_verification_off(tmp_path: Path) -> None:
    settings = kubeconfig_settings(
        kubeconfig(
            tmp_path / "config",
            cluster={"server": "https://api:6443", "insecure-skip-tls-verify": True},
            user={"token": "t"},
        )
    )
    assert settings is not None
    context = settings.tls_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_client_certificates_from_data_are_loaded(tmp_path: Path) -> None:
    cert_pem, key_pem = certificate("me")
    settings = kubeconfig_settings(
        kubeconfig(
            tmp_path / "config",
            cluster={"server": "https://api:6443"},
            user={
                "client-certificate-data": base64.b64encode(cert_pem).decode(),
                "client-key-data": base64.b64encode(key_pem).decode(),
            },
        )
    )
    assert settings is not None
    assert settings.authorization()() is None  # the certificate is the credential
    assert settings.tls_context() is not None  # a wrong pair would raise ssl.SSLError


@pytest.mark.parametrize(
    ("cluster", "user"),
    [
        (
            {"server": "https://api:6443"},
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "aws",
                    "args": ["eks", "get-token"],
                }
            },
        ),
        ({"server": "https://api:6443"}, {"auth-provider": {"name": "oidc"}}),
        ({"server": "https://api:6443"}, {"username": "u", "password": "p"}),
        ({"server": "https://api:6443", "proxy-url": "http://proxy:3128"}, {"token": "t"}),
    ],
    ids=["exec plugin", "auth provider", "basic auth", "proxy"],
)
def test_other_kinds_of_kubeconfig_are_left_to_the_kubernetes_loader(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any]
) -> None:
    path = kubeconfig(tmp_path / "config", cluster=cluster, user=user)
    assert kubeconfig_settings(path) is None
    assert load_cluster_settings({"KUBECONFIG": str(path)}, tmp_path / "no-sa") is None


def test_merged_or_missing_kubeconfigs_are_left_to_the_kubernetes_loader(tmp_path: Path) -> None:
    one = kubeconfig(tmp_path / "one", cluster={"server": "http://a"}, user={"token": "t"})
    two = kubeconfig(tmp_path / "two", cluster={"server": "http://b"}, user={"token": "t"})
    merged = {"KUBECONFIG": f"{one}:{two}"}
    assert load_cluster_settings(merged, tmp_path / "no-sa") is None
    missing = {"KUBECONFIG": str(tmp_path / "none")}
    assert load_cluster_settings(missing, tmp_path / "no-sa") is None


def test_load_settings_hands_an_exec_plugin_to_the_kubernetes_loader(tmp_path: Path) -> None:
    """A kubeconfig this loader does not read itself (an exec plugin) still gives
    ClusterSettings, through the `kubernetes` loader, which runs the plugin."""
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json\n"
        'print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", '
        '"kind": "ExecCredential", "status": {"token": "from-the-plugin"}}))\n'
    )
    import sys

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [
            {
                "name": "k",
                "cluster": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True},
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [str(plugin)],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert kubeconfig_settings(path) is None  # not this loader's own case
    settings = credentials.load_settings(str(path))
    assert settings.server == "https://127.0.0.1:6443"
    assert settings.insecure
    assert settings.authorization()() == "Bearer from-the-plugin"


def test_load_settings_says_what_to_do_without_a_configuration(tmp_path: Path) -> None:
    with pytest.raises(credentials.CredentialsError, match="pass a kubeconfig"):
        credentials.load_settings(str(tmp_path / "missing"))
