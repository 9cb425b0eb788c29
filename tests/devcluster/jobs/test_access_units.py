"""Pure parts of the request gate: request attributes, RBAC rules, tokens, SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from guestbook_devcluster.faults import FaultInjector
from guestbook_devcluster.rbac import RbacAuthorizer, rule_allows
from guestbook_devcluster.request_info import parse_request
from guestbook_devcluster.sqlite_persistence import SqlitePersistence
from guestbook_devcluster.tokens import Identity, TokenAuthority


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/a/pods", "", ("list", "", "pods", "", "a", "")),
        ("GET", "/api/v1/pods", "watch=1", ("watch", "", "pods", "", "", "")),
        ("GET", "/api/v1/namespaces/a/pods/p/log", "", ("get", "", "pods", "log", "a", "p")),
        (
            "PATCH",
            "/apis/batch/v1/namespaces/a/jobs/j/status",
            "",
            ("patch", "batch", "jobs", "status", "a", "j"),
        ),
        ("DELETE", "/api/v1/namespaces/a/pods", "", ("deletecollection", "", "pods", "", "a", "")),
        ("GET", "/api/v1/namespaces/a", "", ("get", "", "namespaces", "", "a", "a")),
    ],
)
def test_requests_are_classified_like_kubernetes_request_info(
    method: str, path: str, query: str, expected: tuple[str, ...]
) -> None:
    info = parse_request(method, path, query)
    assert info.is_resource
    found = (info.verb, info.api_group, info.resource, info.subresource, info.namespace, info.name)
    assert found == expected


def test_rules_match_subresources_resource_names_and_urls() -> None:
    status = parse_request("PATCH", "/apis/batch/v1/namespaces/a/jobs/j/status", "")
    job = parse_request("PATCH", "/apis/batch/v1/namespaces/a/jobs/j", "")
    rule = {"apiGroups": ["batch"], "resources": ["jobs/status"], "verbs": ["patch"]}
    assert rule_allows(rule, status)
    assert not rule_allows(rule, job)
    assert rule_allows({**rule, "resources": ["*/status"]}, status)
    named = {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["*"], "resourceNames": ["k"]}
    assert not rule_allows(named, job)
    assert rule_allows({**named, "resourceNames": ["j"]}, job)
    healthz = parse_request("GET", "/healthz", "")
    assert rule_allows({"nonResourceURLs": ["/health*"], "verbs": ["get"]}, healthz)


def test_bindings_apply_in_their_namespace_only() -> None:
    objects = {
        ("rbac.authorization.k8s.io", "roles"): [
            {
                "metadata": {"name": "r", "namespace": "a"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
            }
        ],
        ("rbac.authorization.k8s.io", "rolebindings"): [
            {
                "metadata": {"name": "b", "namespace": "a"},
                "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "sa"}],
            }
        ],
    }
    authorizer = RbacAuthorizer(lambda key: objects.get(key, []))
    account = Identity("system:serviceaccount:a:sa")
    assert authorizer.allows(account, parse_request("GET", "/api/v1/namespaces/a/pods", ""))
    assert not authorizer.allows(account, parse_request("GET", "/api/v1/namespaces/b/pods", ""))
    other = Identity("system:serviceaccount:b:sa")
    assert not authorizer.allows(other, parse_request("GET", "/api/v1/namespaces/a/pods", ""))


def test_tokens_prove_identity_and_survive_with_their_key(tmp_path: Path) -> None:
    authority = TokenAuthority(tmp_path / "token.key")
    token = authority.for_service_account("ns", "worker")
    identity = authority.identify(token)
    assert identity is not None
    assert identity.service_account == ("ns", "worker")
    assert "system:serviceaccounts:ns" in identity.groups
    assert TokenAuthority(tmp_path / "token.key").identify(token) == identity
    assert TokenAuthority().identify(token) is None
    assert authority.identify(token[:-2] + "xx") is None


def test_fault_rules_fire_the_given_number_of_times() -> None:
    faults = FaultInjector()
    faults.fail_next(2, verb="get", resource="configmaps", code=503)
    get = parse_request("GET", "/api/v1/namespaces/a/configmaps/c", "")
    other = parse_request("GET", "/api/v1/namespaces/a/secrets/s", "")
    assert faults.decide(other).code is None
    assert [faults.decide(get).code for _ in range(3)] == [503, 503, None]
    with pytest.raises(ValueError, match="cannot inject code 418"):
        faults.fail_next(1, code=418)


def test_sqlite_store_keeps_writes_and_the_last_version(tmp_path: Path) -> None:
    store = SqlitePersistence(tmp_path)
    for n in range(500):
        store.put(("", "configmaps"), "default", f"c{n}", b'{"n": %d}' % n, n + 1)
    store.remove(("", "configmaps"), "default", "c7", 501)
    store.close()
    reopened = SqlitePersistence(tmp_path)
    last, objects = reopened.load()
    reopened.close()
    names = {name for _key, _ns, name, _raw in objects}
    assert last == 501
    assert len(names) == 499
    assert "c7" not in names
