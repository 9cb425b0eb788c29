"""ServiceAccounts with a Role, and the token kubeconfig a pod of theirs would get.

Real RBAC identities on the test's namespace: the API server authenticates the
token (``kubectl create token``), authorizes each call against the Role, and
logs the ServiceAccount as the caller in its audit log.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from guestbook_localcluster.kubectl import Kubectl
from guestbook_localcluster.waiting import wait_until

GROUP = "ledger.guestbook.io"
# What the chart grants worker and audit pods (charts/.../_rbac.tpl, workerRules).
WORKER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [GROUP], "resources": ["ledgers"], "verbs": ["get"]},
    {"apiGroups": [GROUP], "resources": ["guestbookentries"], "verbs": ["get", "list"]},
    {
        "apiGroups": [GROUP],
        "resources": ["ledgers/status", "guestbookentries/status"],
        "verbs": ["patch"],
    },
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]
# What the chart grants the operator for its own entry watch (operatorRules).
ENTRY_WATCH_RULES: list[dict[str, Any]] = [
    {"apiGroups": [GROUP], "resources": ["guestbookentries"], "verbs": ["list", "watch"]},
]


@dataclass(frozen=True)
class ServiceAccount:
    """A ServiceAccount bound to its own Role; ``token`` is a fresh bound token."""

    namespace: str
    name: str
    token: str

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def kubeconfig(self, path: Path, server: str, ca_cert: Path) -> Path:
        """Write a kubeconfig with this token for ``server`` (the API server, or a
        proxy with a certificate of the same CA); its default namespace is ours."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": server,
                        "certificate-authority-data": base64.b64encode(ca_cert.read_bytes()).decode(
                            "ascii"
                        ),
                    },
                }
            ],
            "users": [{"name": self.name, "user": {"token": self.token}}],
            "contexts": [
                {
                    "name": self.name,
                    "context": {"cluster": "local", "user": self.name, "namespace": self.namespace},
                }
            ],
            "current-context": self.name,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path


def create_service_account(
    kubectl: Kubectl, namespace: str, name: str, rules: list[dict[str, Any]]
) -> ServiceAccount:
    """Create ServiceAccount ``name`` with a Role of ``rules`` bound to it, and a token.

    Returns once the RBAC authorizer allows the first rule (its caches follow the
    API within moments). Raises KubectlError when kubectl fails.
    """
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": name},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]
    kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    account = ServiceAccount(namespace, name, kubectl("create", "token", name).strip())
    rule = rules[0]
    plural, _, subresource = rule["resources"][0].partition("/")
    group = rule["apiGroups"][0]
    can_i = [
        "auth",
        "can-i",
        rule["verbs"][0],
        f"{plural}.{group}" if group else plural,
        f"--as={account.username}",
    ]
    if subresource:
        can_i.append(f"--subresource={subresource}")
    wait_until(
        lambda: kubectl.run(*can_i, check=False).returncode == 0,
        timeout=30,
        what=f"RBAC to allow ServiceAccount {namespace}/{name}",
    )
    return account
