"""What a DevCluster runs besides the API itself: job runner, request gate, faults.

``ClusterServices`` is created by ``DevCluster`` and owns:

- ``tokens``: the TokenAuthority (ServiceAccount and user tokens);
- ``request_log``: every request with identity, verb, resource and code;
- ``faults``: the FaultInjector (also at ``/_devcluster/faults`` on loopback);
- ``runner``: the job runner (Job controller + kubelet), unless disabled;
- the RBAC authorizer when ``authorization == "rbac"``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from guestbook_devcluster.access import AccessLayer, App
from guestbook_devcluster.faults import FaultInjector
from guestbook_devcluster.jobrunner import JobRunner, JobRunnerConfig
from guestbook_devcluster.rbac import BUILTIN_CLUSTER_ROLES, Grant, RbacAuthorizer, unused_grants
from guestbook_devcluster.request_log import RequestLog, RequestRecord
from guestbook_devcluster.tokens import AUTHENTICATED, MASTERS, Identity, TokenAuthority

if TYPE_CHECKING:
    from guestbook_devcluster.cluster import DevCluster

AUTHORIZATION_MODES = ("AlwaysAllow", "rbac")
ADMIN_USER = "devcluster-admin"
JOB_RUNNER_USER = "system:devcluster:job-runner"


class ClusterServices:
    """The job runner, request gate and fault injector of one DevCluster.

    ``state_dir`` holds pod files (logs, kubeconfigs) and the token key; None
    means a temporary directory removed at stop. Raises ValueError for an
    unknown ``authorization`` mode.
    """

    def __init__(
        self,
        cluster: DevCluster,
        *,
        job_runner: bool = True,
        pod_start_delay: float = 0.0,
        authorization: str = "AlwaysAllow",
        state_dir: Path | None = None,
    ) -> None:
        if authorization not in AUTHORIZATION_MODES:
            raise ValueError(
                f'unknown authorization mode "{authorization}"; use one of '
                + ", ".join(AUTHORIZATION_MODES)
            )
        if pod_start_delay < 0:
            raise ValueError("the pod start delay must be zero or more seconds")
        self.cluster = cluster
        self._temporary = state_dir is None
        # Absolute: pods run in their own directories and must still find their files.
        self.state_dir = (state_dir or Path(tempfile.mkdtemp(prefix="devcluster-"))).resolve()
        self.tokens = TokenAuthority(None if self._temporary else self.state_dir / "token.key")
        self.request_log = RequestLog()
        self.authorizer: RbacAuthorizer | None = None
        if authorization == "rbac":
            self.authorizer = RbacAuthorizer(cluster.storage.iter_objects)
            _bootstrap_rbac(cluster)
        self.runner: JobRunner | None = None
        if job_runner:
            self.runner = JobRunner(
                JobRunnerConfig(
                    server_url="",  # known once the server listens
                    state_dir=self.state_dir / "kubelet",
                    token=self.tokens.issue(JOB_RUNNER_USER, (MASTERS,)),
                    token_for=self.tokens.for_service_account,
                    pod_start_delay=pod_start_delay,
                )
            )
            cluster.context.logs = self.runner.log_source()
        self.faults = FaultInjector(
            drop_watch_streams=cluster.storage.close_watchers,
            kill_pod=self.runner.kill_pod_process if self.runner else None,
        )
        self.faults.note = self.request_log.note_fault

    def wrap(self, app: App, admin_token: str) -> AccessLayer:
        """The API application behind the request gate."""
        admin = Identity(ADMIN_USER, (MASTERS, AUTHENTICATED))
        return AccessLayer(
            app,
            request_log=self.request_log,
            tokens=self.tokens,
            static_tokens={admin_token: admin},
            authorizer=self.authorizer,
            faults=self.faults,
        )

    def start(self, url: str) -> None:
        """Start the job runner against the listening server at ``url``."""
        if self.runner is not None:
            self.runner.config.server_url = url
            self.runner.start_thread()

    def stop(self) -> None:
        """Stop the job runner (its pod processes end) and remove temporary files."""
        if self.runner is not None:
            self.runner.stop_thread()
        if self._temporary:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def least_privilege(self, user: str, namespace: str) -> tuple[list[RequestRecord], set[Grant]]:
        """What ``user`` was refused, and which of its grants in ``namespace`` it never used.

        Both empty means: every call the component made was allowed and its
        Roles grant nothing it did not need. Requires RBAC mode.
        """
        if self.authorizer is None:
            raise ValueError(
                "least privilege needs the cluster in RBAC mode (authorization='rbac')"
            )
        records = self.request_log.records(user)
        denied = [r for r in records if not r.allowed]
        identity = next((Identity(r.user, r.groups) for r in records), Identity(user))
        rules = self.authorizer.rules_for(identity, namespace)
        used = [r.info() for r in records if r.allowed]
        return denied, unused_grants(rules, used)

    def user_token(self, user: str, groups: tuple[str, ...] = ()) -> str:
        """A bearer token for ``user`` in ``groups`` (for RBAC tests)."""
        return self.tokens.issue(user, groups)

    def write_kubeconfig_for(
        self, path: Path, namespace: str, service_account: str, *, context_namespace: str = ""
    ) -> Path:
        """Write a kubeconfig that acts as ServiceAccount ``namespace/service_account``.

        What a component run outside the job runner (an operator under test)
        uses to be authorized as its ServiceAccount. Returns ``path``.
        """
        config = self.cluster.kubeconfig(context_namespace or namespace)
        token = self.tokens.for_service_account(namespace, service_account)
        config["users"][0]["user"] = {"token": token}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)
        return path


# kubectl (client-go) never sends a bearer token over plain http, so its requests
# arrive anonymous. RBAC mode therefore starts with this binding, visible and
# deletable like any other, so that kubectl keeps working as the admin.
ANONYMOUS_ADMIN_BINDING = "devcluster-anonymous-admin"


def _bootstrap_rbac(cluster: DevCluster) -> None:
    """Create the cluster-admin ClusterRole and the anonymous-admin binding if missing."""
    from guestbook_devcluster import admission

    objects: list[tuple[str, dict[str, Any]]] = [
        (
            "clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "cluster-admin"},
                "rules": BUILTIN_CLUSTER_ROLES["cluster-admin"],
            },
        ),
        (
            "clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": ANONYMOUS_ADMIN_BINDING},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": "system:unauthenticated",
                    }
                ],
            },
        ),
    ]
    for plural, obj in objects:
        info = cluster.registry.lookup("rbac.authorization.k8s.io", "v1", plural)
        assert info is not None
        if cluster.storage.find(info.key, "", obj["metadata"]["name"]) is None:
            obj, _ = admission.prepare_create(
                info, obj, cluster.registry, field_validation="Strict"
            )
            cluster.storage.create(info, obj)
